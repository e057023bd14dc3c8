package repo

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// packageType reports whether records of kind describe the packages of
// the repository (primary, filelists, other, in any form: sqlite,
// zchunk, createrepo_c's filelists-ext). acn writes them from the
// packages it finds; one from another tool would contradict them, so it
// is never carried over.
func packageType(kind string) bool {
	kind = strings.TrimSuffix(strings.TrimSuffix(kind, "_zck"), "_db")
	switch kind {
	case "primary", "filelists", "other", "filelists-ext":
		return true
	}
	return false
}

// carryForeign returns the records of old, in their order, that another
// tool wrote (modifyrepo_c's updateinfo, group, modules, anything) and
// that the new metadata md keeps unchanged: those acn did not write (own
// holds every href it recorded as its own), of a type md has no record
// of, that do not describe packages. Only repomd.xml is read: a record's
// file is checked to be in place with its recorded size, not read.
//
// A record whose file is missing, or does not have the size recorded, or
// is not a regular file directly in repodata/ (see metadataFile), and
// the second record of one type are not carried (a client would fail on
// it, or would be handed a file that is not metadata): dropped says
// which, and why.
func carryForeign(dir string, old, md *Repomd, own map[string]bool) (carried []RepomdData, dropped []error) {
	if old == nil {
		return nil, nil
	}
	seen := map[string]bool{}
	for _, d := range old.Data {
		if packageType(d.Type) || md.Find(d.Type) != nil || own[d.Location.Href] {
			continue
		}
		if seen[d.Type] {
			dropped = append(dropped, fmt.Errorf("%s record %s: a second record of its type; not published again", d.Type, d.Location.Href))
			continue
		}
		seen[d.Type] = true
		if d.Location.Base != "" {
			// Elsewhere (mergerepo_c, --baseurl): not this directory's to check.
			carried = append(carried, d)
			continue
		}
		rel, ok := metadataFile(d.Location.Href)
		if !ok {
			dropped = append(dropped, fmt.Errorf("%s record %s: not a metadata file in repodata/; not published again", d.Type, d.Location.Href))
			continue
		}
		st, err := os.Lstat(filepath.Join(dir, rel))
		switch {
		case err != nil:
			dropped = append(dropped, fmt.Errorf("%s record %s: %w; not published again", d.Type, d.Location.Href, err))
			continue
		case !st.Mode().IsRegular():
			dropped = append(dropped, fmt.Errorf("%s record %s: not a regular file (a link, a directory); not published again", d.Type, d.Location.Href))
			continue
		case d.Size > 0 && st.Size() != d.Size:
			dropped = append(dropped, fmt.Errorf("%s record %s: %d bytes, repomd.xml says %d; not published again", d.Type, d.Location.Href, st.Size(), d.Size))
			continue
		}
		carried = append(carried, d)
	}
	return carried, dropped
}

// metadataFile returns the path, relative to the repository, of the
// metadata file href names, and whether it names one that retention may
// delete and a carried record may name: a file directly in repodata/
// (where acn, createrepo_c and modifyrepo_c write theirs), not
// repomd.xml nor its signatures and key. A record of repomd.xml can name
// anything else (a package, acn's own state, "..", a path through a
// symlinked directory); such a name is never carried nor deleted.
func metadataFile(href string) (string, bool) {
	name, ok := strings.CutPrefix(href, "repodata/")
	if !ok || name == "" || strings.ContainsAny(name, `/\`) || !filepath.IsLocal(name) || strings.HasPrefix(name, "repomd.xml") {
		return "", false
	}
	return filepath.Join("repodata", name), true
}
