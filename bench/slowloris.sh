#!/usr/bin/env bash
# bench/slowloris.sh: what 500 slow clients cost a normal client of acn serve.
#
# Runs acn serve on a repository with a repomd.xml and a 1 MiB package
# (its spec repository has no tag: nothing builds), then bench/slowloris:
# a normal client's latency for repomd.xml, alone and while SLOW clients
# hold connections (half sending a head a byte a second, half idle), on
# one kept-alive connection and on a new connection per request; then the
# same with http.front off (net/http alone). Target: p99 under 50 ms with
# the slow clients.
#
# Usage: bench/slowloris.sh [SLOW] [N]   (default 500, 2000)
set -euo pipefail
SLOW=${1:-500}
N=${2:-2000}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)"
(cd "$here" && go build -o "$work/acn" ./cmd/acn && go build -o "$work/slowloris" ./bench/slowloris)
git -C "$work" init -q specs
git -C "$work/specs" -c user.name=b -c user.email=b@b commit -q --allow-empty -m empty
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

for front in true false; do
  data=$work/data-$front
  mkdir -p "$data/repos/acn/repodata"
  printf '<?xml version="1.0" encoding="UTF-8"?>\n<repomd/>\n' > "$data/repos/acn/repodata/repomd.xml"
  head -c 1048576 /dev/urandom > "$data/repos/acn/big-1.0-1.noarch.rpm"
  printf 'http:\n  front: %s\n' "$front" > "$work/acn-$front.yaml"
  p=$(port)
  "$work/acn" serve --config "$work/acn-$front.yaml" --data "$data" --git "$work/specs" \
    --listen "127.0.0.1:$p" --log-level error &
  pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$p/healthz" >/dev/null && break; sleep 0.1; done
  echo "== http.front: $front"
  "$work/slowloris" -addr "127.0.0.1:$p" -slow "$SLOW" -n "$N"
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
done
