#!/usr/bin/env bash
# bench/index.sh: acn index against createrepo_c, in the same run.
#
# Corpus: 2,000 rpmbuild-built RPMs (~350 MB, payloads 1 KiB to 3 MiB),
# cached in $ACN_BENCH_DIR (default bench/.cache). Both tools: 2 workers,
# gzip metadata, no sqlite, warm page cache. Measures:
#   full index            target acn <= 0.6 x createrepo_c
#   --update after +20    target acn <= 0.3 x createrepo_c --update
#   peak RSS              target <= 64 MiB
# and then 20,000 small packages (time and memory growth).
#
# Usage: bench/index.sh [RUNS]   (default 3; needs rpmbuild, createrepo_c, GNU time)
set -euo pipefail
RUNS=${1:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${ACN_BENCH_DIR:-$here/bench/.cache}
mkdir -p "$cache"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$here" && go build -o "$work/acn" ./cmd/acn && go build -o "$work/hashfloor" ./bench/hashfloor)

# corpus NAME COUNT [small]: build once, reuse afterwards.
corpus() {
  local name=$1 count=$2 size=${3:-}
  local dir="$cache/$name"
  if [ ! -f "$dir/.done" ]; then
    echo "building corpus $name ($count packages with rpmbuild)..." >&2
    rm -rf "$dir"; mkdir -p "$dir/rpms"
    python3 "$here/bench/gen-rpms.py" "$dir/gen.spec" "$count" "$name" $size
    rpmbuild -bb --quiet --define "_topdir $dir/top" --define "_rpmdir $dir/rpms" \
      --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
      --define "_binary_payload w1.gzdio" --define "__os_install_post %{nil}" \
      "$dir/gen.spec" >/dev/null 2>&1
    rm -rf "$dir/top"
    rm -f "$dir/rpms/${name}set-"*.rpm
    touch "$dir/.done"
  fi
  echo "$dir/rpms"
}

# timed CMD...: prints "seconds maxrss_kib" for one run (wall time to the
# microsecond; GNU time's own %e only has 10 ms steps).
timed() {
  local s e
  s=$(date +%s%N)
  /usr/bin/time -f "%M" -o "$work/time" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; return 1; }
  e=$(date +%s%N)
  echo "$(awk -v d=$((e - s)) 'BEGIN { printf "%.4f", d / 1e9 }') $(cat "$work/time")"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

clean() { rm -rf "$1/repodata" "$1/.acn" "$1/.repodata"; }

main=$(corpus bench 2000)
extra=$(corpus extra 20)
repo="$work/repo"
mkdir -p "$repo"
cp -l "$main"/*.rpm "$repo/" 2>/dev/null || cp "$main"/*.rpm "$repo/"
cat "$repo"/*.rpm > /dev/null   # warm the page cache
echo "corpus: $(ls "$repo"/*.rpm | wc -l) packages, $(du -sh --apparent-size "$main" | cut -f1)"

acn_full=(); crc_full=(); acn_rss=0; crc_rss=0
for _ in $(seq "$RUNS"); do
  clean "$repo"; read -r t m < <(timed "$work/acn" index --workers 2 "$repo"); acn_full+=("$t"); (( m > acn_rss )) && acn_rss=$m
  clean "$repo"; read -r t m < <(timed createrepo_c --workers 2 --no-database --general-compress-type=gz "$repo"); crc_full+=("$t"); (( m > crc_rss )) && crc_rss=$m
done
"$work/acn" verify "$repo" >/dev/null

acn_upd=(); crc_upd=(); acn_urss=0
for _ in $(seq "$RUNS"); do
  rm -f "$repo"/extra*.rpm
  clean "$repo"; "$work/acn" index --workers 2 "$repo" >/dev/null
  cp "$extra"/*.rpm "$repo/"
  read -r t m < <(timed "$work/acn" index --workers 2 --update "$repo"); acn_upd+=("$t"); (( m > acn_urss )) && acn_urss=$m
  rm -f "$repo"/extra*.rpm
  clean "$repo"; createrepo_c --workers 2 --no-database --general-compress-type=gz "$repo" >/dev/null
  cp "$extra"/*.rpm "$repo/"
  read -r t m < <(timed createrepo_c --workers 2 --no-database --general-compress-type=gz --update "$repo"); crc_upd+=("$t")
done

af=$(printf '%s\n' "${acn_full[@]}" | median); cf=$(printf '%s\n' "${crc_full[@]}" | median)
au=$(printf '%s\n' "${acn_upd[@]}" | median); cu=$(printf '%s\n' "${crc_upd[@]}" | median)
printf '%-28s %10s %14s %8s\n' "2,000 packages" acn createrepo_c ratio
awk -v a="$af" -v c="$cf" 'BEGIN { printf "%-28s %9.3fs %13.3fs %8.3f  (target <= 0.6)\n", "full index", a, c, a/c }'
floor=$("$work/hashfloor" "$repo")
awk -v a="$floor" -v c="$cf" 'BEGIN { printf "%-28s %9.3fs %13s %8.3f  (read + sha256 only, 2 goroutines: no indexer can beat it)\n", "floor", a, "", a/c }'
awk -v a="$au" -v c="$cu" 'BEGIN { printf "%-28s %9.3fs %13.3fs %8.3f  (target <= 0.3)\n", "--update after adding 20", a, c, a/c }'
printf '%-28s %8dMiB %12dMiB           (target <= 64 MiB)\n' "peak RSS, full index" $((acn_rss/1024)) $((crc_rss/1024))
printf '%-28s %8dMiB\n' "peak RSS, --update" $((acn_urss/1024))

if [ "${ACN_BENCH_LARGE:-1}" = 1 ]; then
  big=$(corpus large 20000 small)
  lrepo="$work/large"; mkdir -p "$lrepo"
  cp -l "$big"/*.rpm "$lrepo/" 2>/dev/null || cp "$big"/*.rpm "$lrepo/"
  cat "$lrepo"/*.rpm > /dev/null
  read -r lt lm < <(timed "$work/acn" index --workers 2 "$lrepo")
  clean "$lrepo"
  read -r ct cm < <(timed createrepo_c --workers 2 --no-database --general-compress-type=gz "$lrepo")
  printf '%-28s %9.2fs %13.2fs %8.3f\n' "20,000 small packages" "$lt" "$ct" "$(awk -v a="$lt" -v c="$ct" 'BEGIN{print a/c}')"
  printf '%-28s %8dMiB %12dMiB\n' "peak RSS, 20,000 packages" $((lm/1024)) $((cm/1024))
fi
