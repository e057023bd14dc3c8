#!/usr/bin/env bash
# bench/sandbox.sh: what the build-step sandbox costs, in one run.
#
# The package: one file from the tree and one build step that does nothing
# (`true`), built by `acn build` with --sandbox=on and --sandbox=off,
# alternately, RUNS times each. Prints the median wall time of each and the
# difference. Target: the sandbox adds at most 30 ms.
#
# Usage: bench/sandbox.sh [RUNS]   (default 20; needs bwrap, git)
set -euo pipefail
RUNS=${1:-20}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "building acn..."
(cd "$here" && go build -o "$work/acn" ./cmd/acn)

mkdir -p "$work/repo/specs"
echo hello > "$work/repo/hello.txt"
cat > "$work/repo/specs/noop.yaml" <<'YAML'
name: noop
version: "1.0"
summary: A build step that does nothing
license: MIT
build:
  - "true"
files:
  - src: hello.txt
    dst: /usr/share/noop/hello.txt
YAML
git -C "$work/repo" init -q -b main
git -C "$work/repo" add -A
git -C "$work/repo" -c user.name=b -c user.email=b@acn.invalid commit -q -m noop

# one build, its wall time in microseconds
run() {
  local t0 t1
  t0=$(date +%s%N)
  "$work/acn" build --git "$work/repo" --out "$work/out-$1" --cache "$work/cache" --sandbox "$1" >/dev/null 2>"$work/err" ||
    { cat "$work/err" >&2; exit 1; }
  t1=$(date +%s%N)
  echo $(( (t1 - t0) / 1000 ))
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2] + a[NR/2+1]) / 2)}'; }

run on >/dev/null; run off >/dev/null # warm caches
: > "$work/on"; : > "$work/off"
for _ in $(seq "$RUNS"); do
  run on >> "$work/on"
  run off >> "$work/off"
done
on=$(median < "$work/on")
off=$(median < "$work/off")
printf 'no-op build, median of %d: sandbox off %.1f ms, sandbox on %.1f ms, difference %+.1f ms (target <= +30 ms)\n' \
  "$RUNS" "$(echo "$off / 1000" | bc -l)" "$(echo "$on / 1000" | bc -l)" "$(echo "($on - $off) / 1000" | bc -l)"
