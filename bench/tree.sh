#!/usr/bin/env bash
# bench/tree.sh: the copy of a spec repository's tree into a build's
# scratch directory, against git materialising the same tree, in one run.
#
# For each N (default 5000 20000 100000) it commits N small files in one
# directory and runs `acn build` of a spec with one build step (`true`), so
# that acn copies the whole tree from git's object store to scratch and
# packs one file; the peer is `git archive | tar -x` of the same commit.
# Prints each one's wall time and microseconds per file: acn's must stay
# flat as N grows (the copy was quadratic: 20,000 files took 330 s).
#
# Usage: bench/tree.sh [N...]   (needs git, GNU tar)
set -euo pipefail
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(5000 20000 100000)
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "building acn..."
(cd "$here" && go build -o "$work/acn" ./cmd/acn)

now() { date +%s.%N; }
printf '%8s  %10s %8s  %10s %8s  %6s\n' files acn_s us/file git_s us/file ratio
for n in "${sizes[@]}"; do
  repo=$work/repo-$n
  mkdir -p "$repo/big" "$repo/specs"
  python3 - "$repo/big" "$n" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    with open(os.path.join(d, "f%06d" % i), "w") as f:
        f.write(str(i))
PY
  cat > "$repo/specs/tree.yaml" <<'YAML'
name: tree
version: "1"
summary: Tree copy benchmark
license: MIT
build:
  - "true"
files:
  - src: specs/tree.yaml
    dst: /opt/tree/tree.yaml
YAML
  git -C "$repo" init -q -b main
  git -C "$repo" add -A
  git -C "$repo" -c gc.auto=0 -c user.name=b -c user.email=b@b commit -qm bench
  git -C "$repo" repack -adq

  sync
  s=$(now)
  "$work/acn" build --git "$repo" --out "$work/out-$n" --scratch "$work" >/dev/null
  a=$(echo "$(now) - $s" | bc)
  mkdir -p "$work/peer-$n"
  s=$(now)
  git -C "$repo" archive HEAD | tar -x -C "$work/peer-$n"
  g=$(echo "$(now) - $s" | bc)
  printf '%8d  %10.2f %8.0f  %10.2f %8.0f  %6.2f\n' "$n" "$a" "$(echo "$a * 1000000 / $n" | bc)" \
    "$g" "$(echo "$g * 1000000 / $n" | bc)" "$(echo "$a / $g" | bc -l)"
  rm -rf "$repo" "$work/out-$n" "$work/peer-$n"
done
