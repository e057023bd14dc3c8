#!/usr/bin/env bash
# bench/killindex.sh: kill -9 of acn index --update at random points of
# publication, N times in a row (default 50), with the checks of the CI
# test TestIndexKilled after every kill: acn verify passes, dnf makecache
# works, the published packages are the previous or the new generation,
# leftovers never pile up, and a finished run leaves none. Prints the
# seed, how many runs were killed before they finished and the most
# leftover files seen at once.
#
# Usage: bench/killindex.sh [N]   (needs rpmbuild, dnf)
set -euo pipefail
N=${1:-50}
cd "$(dirname "$0")/.."
ACN_KILL_LOOPS=$N go test -count=1 -timeout 60m -v -run '^TestIndexKilled$' ./cmd/acn/ |
  grep -E 'seed|runs,|FAIL|^ok|PASS'
