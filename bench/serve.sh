#!/usr/bin/env bash
# bench/serve.sh: acn serve, measured in one run.
#
# 1. Tag to installable: a new tag of a noarch package is pushed and the
#    webhook called; time until the new version is in the published
#    repodata (median of RUNS). Target: under 2 s.
# 2. Download throughput at 64 connections (wrk, 2 threads, DURATION):
#    repomd.xml and a 1 MiB package, from acn and from nginx serving the
#    same files. Target: acn at least nginx's requests per second.
#
# Usage: bench/serve.sh [RUNS] [DURATION]   (default 5, 10s; needs wrk, nginx, git)
set -euo pipefail
RUNS=${1:-5}
DURATION=${2:-10s}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
(cd "$here" && go build -o "$work/acn" ./cmd/acn)

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ms() { date +%s%3N; }

spec() { # spec VERSION
  cat > "$work/specs-repo/specs/bench.yaml" <<YAML
name: bench
version: "$1"
summary: Benchmark package
license: MIT
build:
  - head -c 1048576 /dev/urandom > "\$DESTDIR/blob"
files:
  - src: \$DESTDIR/blob
    dst: /usr/share/bench/blob
YAML
}
mkdir -p "$work/specs-repo/specs"
git -C "$work/specs-repo" init -q -b main
spec 1.0
git -C "$work/specs-repo" add -A
git -C "$work/specs-repo" -c user.name=b -c user.email=b@b commit -qm 1.0
git -C "$work/specs-repo" tag bench/v1.0

echo secret > "$work/secret"
acn_port=$(port)
cat > "$work/acn.yaml" <<YAML
listen: 127.0.0.1:$acn_port
data: $work/data
git:
  url: $work/specs-repo
  poll: 1h
  webhook_secret_file: $work/secret
YAML
"$work/acn" serve --config "$work/acn.yaml" --log-level warn &
pids+=($!)
url=http://127.0.0.1:$acn_port
for _ in $(seq 100); do curl -sf "$url/healthz" >/dev/null && break; sleep 0.1; done

has() { curl -sf "$url/api/v1/repos/acn/packages" | grep -q "\"version\": \"$1\""; }
for _ in $(seq 300); do has 1.0 && break; sleep 0.05; done

lat=()
for i in $(seq "$RUNS"); do
  v="1.$i"
  spec "$v"
  git -C "$work/specs-repo" -c user.name=b -c user.email=b@b commit -qam "$v"
  git -C "$work/specs-repo" tag "bench/v$v"
  body='{"ref":"refs/tags/bench/v'$v'"}'
  sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac secret | sed 's/^.* //')
  s=$(ms)
  curl -sf -X POST -H "X-Hub-Signature-256: sha256=$sig" -d "$body" "$url/api/v1/hooks/git" >/dev/null
  until has "$v"; do sleep 0.01; done
  e=$(ms)
  lat+=($((e - s)))
done
median=$(printf '%s\n' "${lat[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "tag -> installable (webhook): median ${median} ms over $RUNS tags: ${lat[*]} ms (target < 2000 ms)"

nginx_port=$(port)
mkdir -p "$work/nginx/logs"
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
  # Tuned as for a busy static file server: sendfile with full segments,
  # open file descriptors cached, long keep-alive.
  access_log off;
  sendfile on;
  tcp_nopush on;
  open_file_cache max=1000 inactive=60s;
  keepalive_requests 1000000;
  include /etc/nginx/mime.types;
  server {
    listen 127.0.0.1:$nginx_port;
    root $work/data/repos;
  }
}
CONF
chmod -R a+rX "$work"   # nginx workers run as an unprivileged user
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" -g 'daemon off;' &
pids+=($!)
sleep 0.5
pkg=$(cd "$work/data/repos/acn" && ls bench-1.1-*.rpm | head -1)
rps() {
  # Both servers must answer 200 with the same bytes, or the figures mean nothing.
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = 200 ] || { echo "not 200: $1" >&2; exit 1; }
  wrk -t2 -c64 -d"$DURATION" "$1" | awk '/Requests\/sec/ {print $2}'
}
printf '%-22s %14s %14s %8s\n' "64 connections" "acn req/s" "nginx req/s" ratio
for path in repodata/repomd.xml "$pkg"; do
  cmp <(curl -s "$url/repos/acn/$path") <(curl -s "http://127.0.0.1:$nginx_port/acn/$path")
  a=$(rps "$url/repos/acn/$path")
  n=$(rps "http://127.0.0.1:$nginx_port/acn/$path")
  label=$([ "$path" = repodata/repomd.xml ] && echo repomd.xml || echo "1 MiB package")
  awk -v l="$label" -v a="$a" -v n="$n" 'BEGIN { printf "%-22s %14.0f %14.0f %8.2f  (target >= 1)\n", l, a, n, a/n }'
done
