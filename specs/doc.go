// Package specs is the first room of acn: it reads package definitions from
// a git repository at a ref and turns them into validated [Spec] values.
//
// A spec repository keeps one package per file at specs/<name>.yaml. [Parse]
// decodes one such file strictly: unknown keys, missing required keys, bad
// values and paths that would escape their root are reported as [*Error]
// values naming the file, the line and the key. A spec is plain data of at
// most [MaxSpecSize]: YAML aliases and merge keys are refused, so parsing
// takes time and memory linear in the file, whatever was pushed. [Open] reads a repository
// (a local path, or a remote URL kept in a bare mirror cache) and
// [Repo.Resolve] gives a read-only [Snapshot] of one commit: its tree as an
// [io/fs.FS] holding every name git stores, and its specs. The package
// groups of groups.yaml at the repository's root are read as strictly
// ([ParseGroups], [Snapshot.Groups]) and written as comps XML. Nothing here checks out a working tree or writes
// into the user's repository.
//
// Everything in this package is safe for concurrent use once constructed,
// except that one mirror directory is updated by one [Open] at a time (a
// file lock serialises them).
package specs
