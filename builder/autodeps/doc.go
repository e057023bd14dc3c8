// Package autodeps is the automatic-dependency engine of the builder room:
// given the installed tree of a package (its DESTDIR, as an [fs.FS]) and
// the packaged paths with their modes, [Analyze] computes what rpmbuild
// 4.18's file classifier and dependency generators compute on the same
// tree, per file and for the package:
//
//   - ELF objects (rpm's elfdeps): soname provides with symbol versions
//     (the "(64bit)" marker on 64-bit objects), DT_NEEDED and version-need
//     requires, rtld(GNU_HASH), the file name for a DSO without a soname;
//     requires are skipped only for a non-executable object with an
//     interpreter, and no interpreter is required (rpm 4.18's elf.attr
//     does not pass --require-interp);
//   - executable scripts (script.req): the "#!" interpreter path, and the
//     program "/usr/bin/env" runs when that is an absolute path
//     ("#!/usr/bin/env bash" requires /usr/bin/env only);
//   - .pc files under %{_libdir}/pkgconfig or %{_datadir}/pkgconfig
//     (pkgconfigdeps.sh over pkgconf 1.8, whose parser is reproduced):
//     pkgconfig(NAME) = VERSION and Provides: entries, requires from
//     Requires, Requires.private and Requires.internal, and
//     /usr/bin/pkg-config;
//   - Python (python.attr, pythondist.attr with pythondistdeps.py):
//     python(abi) = X.Y for modules under /usr/lib*/pythonX.Y/, and from a
//     packaged *.dist-info or *.egg-info directory pythonX.Ydist(NAME) and
//     python3dist(NAME) provides and requires converted from PEP 440 and
//     PEP 508 as the script does (markers evaluated for that Python);
//   - Perl scripts and .pm modules (perl.req, perl.prov): perl(MODULE)
//     [>= VERSION] and perl >= VERSION requires, perl(PACKAGE) [= VERSION]
//     provides;
//   - desktop.attr, metainfo.attr and debuginfo.attr (Lua in rpm), and
//     rpm_macro(NAME) for macro files (rpm's own macro-file reader);
//   - FILECOLORS (1 ELF32, 2 ELF64, for executable regular files),
//     HEADERCOLOR, and FILECLASS/CLASSDICT: the type libmagic 5.44 gives
//     rpm, for the file kinds listed under [Classify];
//   - autoreq/autoprov switches and %__requires_exclude,
//     %__provides_exclude, %__requires_exclude_from and
//     %__provides_exclude_from, as [Options];
//   - the order rpm records: package dependencies sorted and deduplicated
//     as rpm's dependency sets are, unversioned requires dropped where a
//     versioned one of the same name and color exists, and per-file lists
//     in rpm's DEPENDSDICT order, so that [Result.DependsDict] and
//     [Result.ClassDict] give the header arrays rpmbuild writes.
//
// An [Analyzer] does the same one file at a time, for a caller that
// reads every file anyway (the builder, as it packs them): given a
// file's first [HeadSize] bytes, it reads the file again only when its
// type or a generator needs more (ELF objects, gzip data, Perl, .pc,
// .desktop, macro and egg-info files, a script whose first line is
// longer). What it computes does not depend on which way it was given
// the files.
//
// Where rpmbuild would fail the build on a generator's output (a
// dependency rpm cannot parse, Python metadata pythondistdeps.py rejects),
// Analyze fails naming the file, with a [*DepError] or [*PythonError]
// inside a [*FileError]. (A generator's exit status does not matter to
// rpmbuild 4.18, only what it printed: perl.prov dying on a module just
// gives no provides.)
//
// Not generated: fontconfig.prov (fonts) and ocamldeps.sh (OCaml);
// egg-link files. These
// rpmbuild generators run only when their tools are installed; a package
// with such files gets fewer dependencies here than from rpmbuild.
//
// The tests compare with the real tools, never with expectations of our
// own: a tree built with gcc (64- and 32-bit objects, static, stripped,
// debug_info, setuid, scripts, .pc, dist-info, desktop files) packaged by
// rpmbuild with and without each option; rpm's elfdeps and file(1) on
// the host's ELF objects; pkgconfigdeps.sh, script.req, perl.req and
// pythondistdeps.py on samples and on the host's files.
//
// Every input is hostile: the file system is read through the given
// fs.FS (pass an [os.Root]'s FS so that symlinks cannot lead outside the
// tree), reads are capped, ELF parsing checks every count and offset
// against the file and bounds its loops, a panic in debug/elf becomes an
// error, and recursion in .pc variables and Python markers is bounded; so
// memory and time per file are bounded. Analyze keeps no state and is safe
// for concurrent use.
package autodeps
