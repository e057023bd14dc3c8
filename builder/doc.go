// Package builder is the second room of acn: it turns one validated spec
// and the git tree it came from into binary RPMs: the main package, one
// per subpackage and, when ELF files had debug information, the
// -debuginfo package (see packages.go and debuginfo.go).
//
// [Build] runs the spec's build steps (if any) in a private scratch copy of
// the tree with a clean environment, a timeout and a capped log, each step
// in a bubblewrap sandbox that shows it only the system directories
// read-only, its tree, $DESTDIR and $SOURCEDIR at fixed paths, and no
// network unless the spec asks (see sandbox.go); sources come from a
// content-addressed, read-only cache and are verified again at each use;
// collects
// the files each package lists from the tree and from $DESTDIR (a path
// in one package only); strips ELF files as rpmbuild's find-debuginfo
// does, with eu-strip in the sandbox; and writes each package with google/rpmpack for the header, streaming every file's
// content through the compressed cpio payload so that memory does not grow
// with the size of the files. A cancelled build stops at the next file. No
// step process outlives its step or acn, and [CleanStale] removes what a
// killed acn left (see procs.go). It adds what rpmbuild adds and rpmpack does not:
// rpmlib() requires, [epoch:]version-release and ISA self-provides, SHA-1,
// SHA-256 and MD5 digests, and the real payload size.
//
// After the steps it makes the checks rpmbuild makes (checks.go): every
// file installed in $DESTDIR is packaged (by one of the packages) or
// excluded, and no packaged file holds the path of $DESTDIR or of the
// build directory. Every package records where it came from
// (provenance.go): the git URL, without credentials, and the commit in
// rpm's VCS tag, the ref, and the build log's SHA-256.
//
// Output is reproducible: the same spec at the same commit and ref gives
// the same bytes, because build time and every file time come from the
// commit, no host name is recorded, and the build log, whose SHA-256 the
// package records, holds no time (steps that print one make the log, and so
// the package, differ). An output file is written under a temporary name
// and renamed into place, and the RPMs a failed build wrote are removed,
// so a failed build never leaves a partial RPM, nor some of its RPMs.
package builder
