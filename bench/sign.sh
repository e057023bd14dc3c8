#!/usr/bin/env bash
# bench/sign.sh: acn sign against rpmsign --addsign (gpg), in the same run.
#
# Both sign the same N rpmbuild-built RPMs (default 2,000 small packages,
# a copy each) with the same RSA 4096 key: acn's key file, imported into a
# private gpg home for rpmsign. Measures wall time, signatures per second
# and the ratio (target acn <= 0.25 x rpmsign), and the floor: Go's
# crypto/rsa RSA-4096 signatures per second per core x cores
# (bench/signfloor). A sample of both outputs is checked with rpm -K.
#
# Usage: bench/sign.sh [N]   (needs rpmbuild, rpmsign, gpg)
set -euo pipefail
N=${1:-2000}
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${ACN_BENCH_DIR:-$here/bench/.cache}
mkdir -p "$cache"
work=$(mktemp -d)
gpghome=$(mktemp -d /tmp/acn-bench-gpg.XXXXXX) # gpg-agent's socket path must be short
trap 'gpgconf --homedir "$gpghome" --kill all 2>/dev/null || true; rm -rf "$work" "$gpghome"' EXIT
chmod 700 "$gpghome"
(cd "$here" && go build -o "$work/acn" ./cmd/acn && go build -o "$work/signfloor" ./bench/signfloor)

name=sign$N
dir="$cache/$name"
if [ ! -f "$dir/.done" ]; then
  echo "building corpus $name ($N packages with rpmbuild)..." >&2
  rm -rf "$dir"; mkdir -p "$dir/rpms"
  python3 "$here/bench/gen-rpms.py" "$dir/gen.spec" "$N" "$name" small
  rpmbuild -bb --quiet --define "_topdir $dir/top" --define "_rpmdir $dir/rpms" \
    --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
    --define "_binary_payload w1.gzdio" --define "__os_install_post %{nil}" \
    "$dir/gen.spec" >/dev/null 2>&1
  rm -rf "$dir/top"
  rm -f "$dir/rpms/${name}set-"*.rpm
  touch "$dir/.done"
fi
mkdir "$work/acn-out" "$work/rpmsign-out"
cp "$dir"/rpms/*.rpm "$work/acn-out/"
cp "$dir"/rpms/*.rpm "$work/rpmsign-out/"
count=$(ls "$work/acn-out" | wc -l)

"$work/acn" key generate --name "ACN Bench <bench@example.com>" --out "$work/keys" >/dev/null
key=$(ls "$work"/keys/*.key)
id=$(basename "$key" .key)
gpg --homedir "$gpghome" --batch --quiet --import "$key" 2>/dev/null

now() { date +%s.%N; }
t0=$(now)
"$work/acn" sign --key "$key" "$work"/acn-out/*.rpm 2>/dev/null
t1=$(now)
rpmsign --define "_gpg_path $gpghome" --define "_gpg_name $id" --define "__gpg /usr/bin/gpg" \
  --define "_gpg_digest_algo sha256" --addsign "$work"/rpmsign-out/*.rpm >/dev/null 2>&1 </dev/null
t2=$(now)

db="$work/rpmdb"
rpm --dbpath "$db" --initdb
rpm --dbpath "$db" --import "$work/keys/$id.pub"
for f in $(ls "$work"/acn-out/*.rpm | shuf -n 20 --random-source=/dev/zero) $(ls "$work"/rpmsign-out/*.rpm | head -20); do
  rpm --dbpath "$db" -K "$f" | grep -q "digests signatures OK" || { echo "rpm -K failed: $f" >&2; rpm --dbpath "$db" -Kv "$f" >&2; exit 1; }
done

read -r one cores all < <("$work/signfloor")
awk -v n="$count" -v a="$(echo "$t1 - $t0" | bc)" -v r="$(echo "$t2 - $t1" | bc)" -v one="$one" -v cores="$cores" -v all="$all" 'BEGIN {
  printf "packages          %d (RSA 4096, SHA-256 header signatures)\n", n
  printf "acn sign          %7.2f s  %7.1f sig/s  %5.1f ms/pkg\n", a, n/a, 1000*a/n
  printf "rpmsign --addsign %7.2f s  %7.1f sig/s  %5.1f ms/pkg\n", r, n/r, 1000*r/n
  printf "ratio acn/rpmsign %7.3f    (target <= 0.25)\n", a/r
  printf "floor (crypto/rsa) %6.1f sig/s per core x %d cores = %.1f sig/s measured on all cores (%.1f ideal)\n", one, cores, all, one*cores
  printf "acn sign at %.0f%% of the floor\n", 100*(n/a)/(one*cores)
}'
