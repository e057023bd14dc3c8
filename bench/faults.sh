#!/usr/bin/env bash
# bench/faults.sh: the long runs of the reliability battery.
#
# - kill -9 of "acn serve" at random points while it builds and publishes,
#   LOOPS times (default 50), restarting it each time: after each kill the
#   repository verifies; at the end every job finished, nothing published
#   was lost, nothing was left behind, and dnf makecache works.
# - 64 clients looping repomd.xml -> every metadata file -> every package,
#   checking every checksum, while PUBS (default 20) publications run back
#   to back with retention: 0 faults; prints requests served and p99.
#
# The same tests run in CI with fewer loops. Prints each test's summary.
#
# Usage: bench/faults.sh [LOOPS] [PUBS]
set -euo pipefail
LOOPS=${1:-50}
PUBS=${2:-20}
cd "$(dirname "$0")/.."
echo "--- kill -9 of acn serve, $LOOPS times"
ACN_KILL_LOOPS=$LOOPS go test -count=1 -run 'TestKillServeDuringPublication$' -v ./cmd/acn/ | grep -E 'kills:|^(---|ok|FAIL)'
echo "--- $PUBS publications under 64 clients"
ACN_LOAD_PUBLICATIONS=$PUBS go test -count=1 -run 'TestLoadDuringPublication$' -v ./server/ | grep -E 'publications,|^(---|ok|FAIL)'
