// Package autodeps is the automatic-dependency engine of the builder room:
// given the installed tree of a package (its DESTDIR as an [fs.FS]) and the
// list of packaged paths with their modes, it computes what rpmbuild 4.18's
// file classifier and dependency generators compute on the same tree, per
// file and for the package:
//
//   - ELF objects (rpm's elfdeps): soname provides with symbol versions,
//     DT_NEEDED and version-need requires, the "(64bit)" marker,
//     rtld(GNU_HASH);
//   - executable "#!" scripts (rpm's script.req): the interpreter path;
//   - .pc files (rpm's pkgconfigdeps.sh over pkgconf 1.8): pkgconfig(name)
//     provides and requires (Requires and Requires.private) and
//     /usr/bin/pkg-config;
//   - Python (rpm's python.attr and pythondist.attr): python(abi) for
//     modules under /usr/lib*/pythonX.Y/, python3dist() and
//     pythonX.Ydist() provides and requires from dist-info and egg-info
//     metadata;
//   - file colors (FILECOLORS, HEADERCOLOR) and file classes (FILECLASS,
//     CLASSDICT) in the form libmagic gives rpm, for the kinds of files
//     listed in [Classify]'s documentation;
//   - autoreq/autoprov switches and the %__requires_exclude,
//     %__provides_exclude and %__*_exclude_from filters, as [Options].
//
// The tests build a tree with the real gcc, package it with the real
// rpmbuild and compare rpm's queries with [Analyze]'s result as sets.
//
// Every input file is treated as hostile: reads are capped, ELF parsing
// never trusts a size or offset it has not checked against the file, a
// panic in a parser is recovered and reported as an error naming the file,
// and a generator loop is bounded, so [Analyze] uses bounded memory and
// time per file. Where rpmbuild itself would fail the build (a dependency
// that rpm cannot parse, broken Python metadata), Analyze returns an error
// naming the file. Analyze is safe for concurrent use; it keeps no state.
package autodeps
