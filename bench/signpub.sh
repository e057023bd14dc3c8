#!/usr/bin/env bash
# bench/signpub.sh: tag to installable with signing on, against the same
# daemon setup without signing, in one run.
#
# A new tag of a noarch package (1 MiB payload) is pushed and the webhook
# called; the time is until dnf could install it: the new version is in
# the published metadata and repodata/repomd.xml.asc verifies with gpg
# against the repomd.xml served with it (signed run). Median of RUNS.
# The signing key is RSA 4096 (acn key generate's default), protected by
# a passphrase. Target: under 2 s.
#
# Usage: bench/signpub.sh [RUNS]   (default 5; needs git, gpg, curl, openssl)
set -euo pipefail
RUNS=${1:-5}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
(cd "$here" && go build -o "$work/acn" ./cmd/acn)

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ms() { date +%s%3N; }

echo secret > "$work/secret"
echo "bench passphrase" > "$work/pass"
chmod 600 "$work/pass"
mkdir -p "$work/keys" "$work/gnupg"
chmod 700 "$work/gnupg"
"$work/acn" key generate --name "Bench <bench@example.com>" --out "$work/keys" --passphrase-file "$work/pass" >/dev/null
key=$(ls "$work/keys"/*.key)
gpg --homedir "$work/gnupg" --batch --quiet --import "${key%.key}.pub" 2>/dev/null

run() { # run MODE (plain or signed)
  local mode=$1 dir=$work/$1
  mkdir -p "$dir/specs-repo/specs"
  spec() {
    cat > "$dir/specs-repo/specs/bench.yaml" <<YAML
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
  git -C "$dir/specs-repo" init -q -b main
  spec 1.0
  git -C "$dir/specs-repo" add -A
  git -C "$dir/specs-repo" -c user.name=b -c user.email=b@b commit -qm 1.0
  git -C "$dir/specs-repo" tag bench/v1.0
  local p; p=$(port)
  cat > "$dir/acn.yaml" <<YAML
listen: 127.0.0.1:$p
data: $dir/data
git:
  url: $dir/specs-repo
  poll: 1h
  webhook_secret_file: $work/secret
YAML
  if [ "$mode" = signed ]; then
    printf 'signing:\n  keys:\n    - key: %s\n      passphrase_file: %s\n' "$key" "$work/pass" >> "$dir/acn.yaml"
  fi
  "$work/acn" serve --config "$dir/acn.yaml" --log-level warn &
  pids+=($!)
  local url=http://127.0.0.1:$p
  for _ in $(seq 100); do curl -sf "$url/healthz" >/dev/null && break; sleep 0.1; done
  installable() { # the version is published (and its metadata verifies)
    curl -sf "$url/api/v1/repos/acn/packages" | grep -q "\"version\": \"$1\"" || return 1
    [ "$mode" = signed ] || return 0
    curl -sf -o "$dir/repomd.xml" "$url/repos/acn/repodata/repomd.xml" &&
      curl -sf -o "$dir/repomd.xml.asc" "$url/repos/acn/repodata/repomd.xml.asc" &&
      gpg --homedir "$work/gnupg" --batch --quiet --verify "$dir/repomd.xml.asc" "$dir/repomd.xml" 2>/dev/null
  }
  for _ in $(seq 300); do installable 1.0 && break; sleep 0.05; done
  local lat=() i v body sig s e
  for i in $(seq "$RUNS"); do
    v="1.$i"
    spec "$v"
    git -C "$dir/specs-repo" -c user.name=b -c user.email=b@b commit -qam "$v"
    git -C "$dir/specs-repo" tag "bench/v$v"
    body='{"ref":"refs/tags/bench/v'$v'"}'
    sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac secret | sed 's/^.* //')
    s=$(ms)
    curl -sf -X POST -H "X-Hub-Signature-256: sha256=$sig" -d "$body" "$url/api/v1/hooks/git" >/dev/null
    until installable "$v"; do sleep 0.01; done
    e=$(ms)
    lat+=($((e - s)))
  done
  local median; median=$(printf '%s\n' "${lat[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "tag -> installable, $mode: median ${median} ms over $RUNS tags: ${lat[*]} ms (target < 2000 ms)"
}
run plain
run signed
