#!/usr/bin/env bash
# bench/stream.sh: peak memory of acn build on a 2 GiB runtime tree.
#
# A build step writes 2 GiB (4 files of 512 MiB) into $DESTDIR; acn packs
# it. rpmpack alone would hold every file body and the whole compressed
# payload in memory; acn streams both, so peak RSS must stay far below the
# tree size. Prints the peak RSS and its ratio to the tree size.
#
# Usage: bench/stream.sh [MiB per file]   (default 512)
set -euo pipefail
MB=${1:-512}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$here" && go build -o "$work/acn" ./cmd/acn)
mkdir -p "$work/repo/specs"
cat > "$work/repo/specs/big.yaml" <<YAML
name: big
version: "1.0"
arch: x86_64
summary: A large runtime tree
license: MIT
build:
  - mkdir -p "\$DESTDIR/opt/rt"
  - for i in 1 2 3 4; do yes "acn runtime payload line \$i" | head -c ${MB}M > "\$DESTDIR/opt/rt/blob\$i"; done
files:
  - src: \$DESTDIR/opt/rt/
    dst: /opt/rt/
YAML
git -C "$work/repo" init -q -b main
git -C "$work/repo" add -A
git -C "$work/repo" -c user.name=b -c user.email=b@b commit -qm big
out=$( { /usr/bin/time -f "%e %M" "$work/acn" build --git "$work/repo" --out "$work/out" --scratch "$work" >/dev/null; } 2>&1 | tail -1) || true
secs=${out% *}; rss=${out#* }
rpm -K --nosignature "$work"/out/*.rpm
rpm2cpio "$work"/out/*.rpm | cpio -t --quiet
total=$((4 * MB))
echo "tree: ${total} MiB in 4 files; wall ${secs}s; peak RSS $((rss / 1024)) MiB"
awk -v r="$rss" -v t="$total" 'BEGIN { printf "peak RSS / tree size: %.3f\n", r/1024/t }'
