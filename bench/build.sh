#!/usr/bin/env bash
# bench/build.sh: acn build against rpmbuild on the same package, in one run.
#
# The package: 200 files, about 30 MB, in two data shapes: "mixed" (half
# the files random, half text) and "halfzero" (each file half random
# bytes, half zeros: data that compresses easily, where what is not
# compression shows). Packaged only (no compilation), gzip level 6 payload
# for both, rpmbuild's post-install scripts, debuginfo and dependency
# generators switched off so that both do the same work. Prints each
# tool's median wall time, median CPU time (user + sys) and peak RSS over
# RUNS runs, and the ratios, for each shape. Target: acn <= 0.25 x
# rpmbuild wall time on both.
#
# Usage: bench/build.sh [RUNS]   (default 5; needs rpmbuild, git, GNU time)
set -euo pipefail
RUNS=${1:-5}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "building acn..."
(cd "$here" && go build -o "$work/acn" ./cmd/acn)

# make_tree SHAPE: the 200 files of one data shape, committed.
make_tree() {
  rm -rf "$work/repo"
  mkdir -p "$work/repo/tree" "$work/repo/specs"
  python3 - "$work/repo/tree" "$1" <<'PY'
import os, random, sys
root, shape = sys.argv[1], sys.argv[2]
rnd = random.Random(42)
words = [("w%d" % i).encode() for i in range(5000)]
for i in range(200):
    d = os.path.join(root, "d%02d" % (i % 20))
    os.makedirs(d, exist_ok=True)
    size = rnd.randint(50_000, 250_000)
    with open(os.path.join(d, "f%03d" % i), "wb") as f:
        if shape == "halfzero":
            f.write(rnd.randbytes(size // 2) + bytes(size - size // 2))
        elif i % 2:
            f.write(rnd.randbytes(size))
        else:
            out = bytearray()
            while len(out) < size:
                out += rnd.choice(words) + b" "
            f.write(bytes(out[:size]))
PY
cat > "$work/repo/specs/bench.yaml" <<'YAML'
name: bench
version: "1.0"
summary: Benchmark payload
license: MIT
files:
  - src: tree/
    dst: /opt/bench/
YAML
  git -C "$work/repo" init -q -b main
  git -C "$work/repo" add -A
  git -C "$work/repo" -c user.name=b -c user.email=b@b commit -qm bench
}

mkdir -p "$work/rpmbuild/SPECS"
cat > "$work/rpmbuild/SPECS/bench.spec" <<SPEC
Name: bench
Version: 1.0
Release: 1
Summary: Benchmark payload
License: MIT
BuildArch: noarch
AutoReqProv: no
%description
Benchmark payload
%install
mkdir -p %{buildroot}/opt/bench
cp -a $work/repo/tree/. %{buildroot}/opt/bench/
%files
/opt/bench
SPEC

rpmbuild_once() {
  rm -rf "$work/rpmbuild/RPMS" "$work/rpmbuild/BUILDROOT" "$work/rpmbuild/BUILD"
  rpmbuild -bb --quiet \
    --define "_topdir $work/rpmbuild" \
    --define "_binary_payload w6.gzdio" \
    --define "__os_install_post %{nil}" \
    --define "debug_package %{nil}" \
    --define "_build_id_links none" \
    --define "source_date_epoch_from_changelog 0" \
    "$work/rpmbuild/SPECS/bench.spec" >/dev/null 2>&1
}
acn_once() {
  rm -rf "$work/out"
  "$work/acn" build --git "$work/repo" --out "$work/out" --compress gzip:6 >/dev/null
}

# measure NAME FUNC: median wall seconds, median CPU seconds (user +
# sys, which a machine shared with other work disturbs less) and max
# peak RSS (KiB) over RUNS runs.
measure() {
  local name=$1 fn=$2 times=() cpus=() rss=0
  export -f "$fn" rpmbuild_once acn_once
  export work
  "$fn" # warm-up: page cache, git objects
  for _ in $(seq "$RUNS"); do
    local out e m u s
    out=$( { /usr/bin/time -f "%e %M %U %S" bash -c "$fn" ; } 2>&1 | tail -1)
    read -r e m u s <<<"$out"
    times+=("$e"); [ -n "${BENCH_DEBUG:-}" ] && echo "$name $e $u $s" >&2
    cpus+=("$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')")
    (( m > rss )) && rss=$m
  done
  echo "$name $(median "${times[@]}") $(median "${cpus[@]}") $rss"
}
median() {
  printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

for shape in mixed halfzero; do
  make_tree "$shape"
  # The tree and git's objects were just written: flush them now, or
  # their writeback lands in whichever tool waits on the disk first (acn
  # fsyncs the RPM it writes; rpmbuild does not).
  sync
  echo "--- $shape: $(du -sh "$work/repo/tree" | cut -f1)"
  read -r _ acn_t acn_cpu acn_rss < <(measure acn acn_once)
  read -r _ rb_t rb_cpu rb_rss < <(measure rpmbuild rpmbuild_once)
  acn_size=$(stat -c %s "$work"/out/*.rpm)
  rb_size=$(stat -c %s "$work"/rpmbuild/RPMS/noarch/*.rpm)
  rpm -K --nosignature "$work"/out/*.rpm >/dev/null

  printf '%-10s %8s %8s %10s %12s\n' tool "wall(s)" "cpu(s)" "peakRSS" "rpm bytes"
  printf '%-10s %8s %8s %8sMiB %12s\n' acn "$acn_t" "$acn_cpu" $((acn_rss/1024)) "$acn_size"
  printf '%-10s %8s %8s %8sMiB %12s\n' rpmbuild "$rb_t" "$rb_cpu" $((rb_rss/1024)) "$rb_size"
  awk -v a="$acn_t" -v r="$rb_t" -v ac="$acn_cpu" -v rc="$rb_cpu" -v s="$shape" 'BEGIN {
    printf "%s: ratio acn/rpmbuild wall time: %.3f (target <= 0.25), cpu time (user+sys): %.3f\n", s, a/r, ac/rc }'
done
