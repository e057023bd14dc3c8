#!/usr/bin/env python3
"""Write an rpm spec whose subpackages make a benchmark corpus.

gen-rpms.py SPEC COUNT PREFIX [small]

Each subpackage PREFIXnnnnn owns one data file (1 KiB to 3 MiB, skewed
small so 2,000 packages weigh about 350 MB; with "small", 1-4 KiB) and
carries a few dependencies and a changelog, so that the metadata is not
trivial. rpmbuild builds them all in one run, which is much faster than
one rpmbuild per package.
"""
import sys

spec, count, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
small = len(sys.argv) > 4 and sys.argv[4] == "small"
size_expr = "r.randint(1024, 4096)" if small else "int(2 ** (10 + 11.58 * r.random() ** 2.4))"
with open(spec, "w") as f:
    f.write(f"""Name: {prefix}set
Version: 1
Release: 1
Summary: Benchmark corpus
License: MIT
BuildArch: noarch
%description
Benchmark corpus.
%install
python3 - %{{buildroot}} <<'PY'
import os, random, sys
r = random.Random("{prefix}")
for i in range({count}):
    d = os.path.join(sys.argv[1], "opt", "{prefix}", "%05d" % i)
    os.makedirs(d)
    with open(os.path.join(d, "data"), "wb") as out:
        out.write(r.randbytes({size_expr}))
PY
%files
""")
    for i in range(count):
        name = f"{prefix}{i:05d}"
        f.write(f"""
%package -n {name}
Summary: Benchmark package {i}
Requires: {prefix}{(i + 1) % count:05d} >= 1
Provides: {prefix}-capability-{i} = {i}
%description -n {name}
Benchmark package {i} of {count}.
%files -n {name}
/opt/{prefix}/{i:05d}
""")
    f.write("\n%changelog\n* Mon Jan 05 2026 Bench <bench@example.invalid> - 1-1\n- Benchmark corpus.\n")
