// Package repo is the third room of acn: it turns a directory of RPM files
// into yum/dnf repository metadata, as createrepo_c does, and checks such
// metadata as dnf would.
//
// [Index] reads every package header (with cavaliergopher/rpm) and hashes
// every file, writes primary, filelists and other metadata and publishes
// them atomically: new files under content-addressed names first, then
// repomd.xml in one rename, so a client never sees a repository half
// written, and superseded files stay for a retention window. Unchanged
// files are not read again on an update, and memory does not grow with the
// size of the repository: per-package XML is streamed through an on-disk
// cache. Every package is checked whole as it is hashed: a payload that
// does not match the digests its header carries (as rpm -K checks) is
// corrupt and left out. [Verify] checks a published repository, local or
// over HTTP, the same way.
//
// [Add] publishes new packages with the rename of repomd.xml as the one
// commit point: they wait in a staging directory outside the served tree,
// and a failure or a crash before the commit leaves the directory as it
// was. A published NEVRA is immutable. Retention ([AddOptions].Keep,
// [Prune]) takes old versions out of the metadata at once and deletes
// their files only when no retained metadata names them. [Promote] adds
// the exact file of a package from another repository.
//
// Index and Add take a lock on the directory; concurrent runs wait or
// fail. The lock holder first completes or undoes an interrupted Add and
// removes what killed runs left. Nothing outside the directory is read
// through a link or a metadata location, nor written.
package repo
