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
// cache. [Verify] checks a published repository, local or over HTTP.
//
// Index takes a lock on the directory; concurrent runs wait or fail.
package repo
