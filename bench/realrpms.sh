#!/bin/bash
# realrpms.sh DIR [OUT]: the differential check of acn's repodata against
# createrepo_c's on a directory of RPMs nobody here built (issue 12).
#
# Every *.rpm under DIR is copied (mtimes kept) into buckets in which no two
# packages share name-epoch-version-release-arch (a git history often holds
# several builds of one NEVRA; a repository cannot), then each bucket is
# indexed by `acn index --sqlite` and `createrepo_c --database
# --general-compress-type=gz` (both with their defaults otherwise: sha256,
# changelog limit 10), and primary, filelists and other are compared package
# by package and every sqlite table row by row, per package. Prints the
# counts (packages, identical, differing, rejected by each) and, under OUT
# (default: a temporary directory, kept), diffs.txt with each difference.
set -euo pipefail
src=${1:?usage: realrpms.sh DIR [OUT]}
out=${2:-$(mktemp -d /tmp/acn-realrpms-XXXXXX)}
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
(cd "$here" && go build -o "$out/acn" ./cmd/acn)

if [ -z "${REALRPMS_COMPARE_ONLY:-}" ]; then
# Bucket by NEVRA (rpm -qp reads what rpm can; the rest go to bucket 0,
# where both tools get to reject them).
rm -rf "$out/buckets"
find "$src" -name '*.rpm' -type f | sort | while read -r f; do
	nevra=$(rpm -qp --nosignature --nodigest --qf '%{NAME}-%{EPOCHNUM}:%{VERSION}-%{RELEASE}.%|SOURCEPACKAGE?{src}:{%{ARCH}}|\n' "$f" 2>/dev/null | head -1 || true)
	b=0
	if [ -n "$nevra" ]; then
		key=$(printf '%s' "$nevra" | sha1sum | cut -c1-40)
		while [ -e "$out/buckets/$b/.nevra/$key" ]; do b=$((b + 1)); done
		mkdir -p "$out/buckets/$b/.nevra"
		touch "$out/buckets/$b/.nevra/$key"
	fi
	mkdir -p "$out/buckets/$b/pkgs"
	cp -p "$f" "$out/buckets/$b/pkgs/$(printf '%s' "$f" | sed "s|^$src/*||; s|/|__|g")"
done

for b in "$out"/buckets/*/; do
	rm -rf "$b/crc" "$b/pkgs/repodata"
	mkdir -p "$b/crc"
	"$out/acn" index "$b/pkgs" --sqlite --retain-old-md 0 --retain-old-md-by-age 0 >"$b/acn.log" 2>&1 || true
	createrepo_c --database --general-compress-type=gz -o "$b/crc" "$b/pkgs" >"$b/crc.log" 2>&1 || true
done
fi

python3 - "$out" <<'PY'
import gzip, html, os, re, sqlite3, sys, tempfile
out = sys.argv[1]
pkg_re = re.compile(rb'<package[ >].*?</package>', re.S)
per = {}
totals = dict(packages=0, identical=0, differing=0, acn_only_rejected=0,
              crc_only_rejected=0, both_rejected=0)
diffs = []

def md(repo):
    r = open(os.path.join(repo, 'repodata', 'repomd.xml'), 'rb').read().decode()
    locs = {}
    for m in re.finditer(r'<data type="([^"]+)">.*?<location href="([^"]+)"', r, re.S):
        locs[m.group(1)] = os.path.join(repo, m.group(2))
    return locs

def xmlpkgs(path, kind):
    data = gzip.open(path).read()
    res = {}
    for m in pkg_re.finditer(data):
        p = m.group(0)
        if kind == 'primary':
            k = re.search(rb'<checksum type="[^"]+" pkgid="YES">([^<]+)<', p).group(1)
        else:
            k = re.search(rb'pkgid="([^"]+)"', p).group(1)
        res[k.decode()] = p
    return res, data

def dbrows(path):
    tmp = tempfile.NamedTemporaryFile(delete=False)
    tmp.write(gzip.open(path).read() if path.endswith('.gz') else open(path, 'rb').read())
    tmp.close()
    c = sqlite3.connect(tmp.name)
    c.text_factory = bytes
    keys = dict(c.execute('select pkgKey, pkgId from packages'))
    res = {}
    for (t,) in c.execute("select name from sqlite_master where type='table' and name != 'db_info'"):
        t = t.decode()
        cols = [r[1].decode() for r in c.execute('pragma table_info(%s)' % t)]
        for row in c.execute('select * from %s' % t):
            row = dict(zip(cols, row))
            if 'pkgKey' not in row:
                raise SystemExit('%s: table %s has no pkgKey' % (path, t))
            pid = keys[row.pop('pkgKey')]
            if isinstance(pid, bytes):
                pid = pid.decode()
            res.setdefault(pid, {}).setdefault(t, []).append(repr(sorted(row.items())))
    c.close()
    os.unlink(tmp.name)
    return res

for b in sorted(os.listdir(os.path.join(out, 'buckets'))):
    base = os.path.join(out, 'buckets', b)
    files = sorted(f for f in os.listdir(os.path.join(base, 'pkgs')) if f.endswith('.rpm'))
    try:
        a, c = md(os.path.join(base, 'pkgs')), md(os.path.join(base, 'crc'))
    except OSError as e:
        diffs.append('bucket %s: no repomd.xml: %s' % (b, e))
        continue
    A, C = {}, {}
    for kind in ('primary', 'filelists', 'other'):
        A[kind], _ = xmlpkgs(a[kind], kind)
        C[kind], _ = xmlpkgs(c[kind], kind)
    href = lambda p: html.unescape(re.search(rb'<location href="([^"]+)"', p).group(1).decode('utf-8', 'surrogateescape'))
    aloc = {href(p): k for k, p in A['primary'].items()}
    cloc = {href(p): k for k, p in C['primary'].items()}
    adb = {k: dbrows(a[k + '_db']) for k in ('primary', 'filelists', 'other') if k + '_db' in a}
    cdb = {k: dbrows(c[k + '_db']) for k in ('primary', 'filelists', 'other') if k + '_db' in c}
    for f in files:
        src = f.split('__')[0] if '__' in f else '.'
        per.setdefault(src, [0, 0])[0] += 1
        totals['packages'] += 1
        ia, ic = f in aloc, f in cloc
        if not ia and not ic:
            totals['both_rejected'] += 1; continue
        if not ia:
            totals['acn_only_rejected'] += 1; diffs.append('%s: acn rejects, createrepo_c accepts' % f); continue
        if not ic:
            totals['crc_only_rejected'] += 1; diffs.append('%s: createrepo_c rejects, acn accepts' % f); continue
        k = aloc[f]
        d = []
        for kind in ('primary', 'filelists', 'other'):
            if A[kind].get(k) != C[kind].get(k):
                d.append('%s.xml:\n  acn: %r\n  crc: %r' % (kind, A[kind].get(k), C[kind].get(k)))
        for kind in set(adb) | set(cdb):
            ra, rc = adb.get(kind, {}).get(k, {}), cdb.get(kind, {}).get(k, {})
            for t in sorted(set(ra) | set(rc)):
                if sorted(ra.get(t, [])) != sorted(rc.get(t, [])):
                    sa, sc = sorted(ra.get(t, [])), sorted(rc.get(t, []))
                    d.append('%s_db %s:\n  acn only: %r\n  crc only: %r' % (kind, t,
                             [r for r in sa if r not in sc][:5], [r for r in sc if r not in sa][:5]))
        if d:
            totals['differing'] += 1
            per[src][1] += 1
            diffs.append('%s (bucket %s):\n%s' % (f, b, '\n'.join(d)))
        else:
            totals['identical'] += 1
with open(os.path.join(out, 'diffs.txt'), 'w') as w:
    w.write('\n\n'.join(diffs) + '\n')
for k, v in totals.items():
    print('%-18s %d' % (k, v))
for src, (n, d) in sorted(per.items()):
    print('  %-50s %6d packages, %d differing' % (src, n, d))
print('details: %s/diffs.txt' % out)
PY
