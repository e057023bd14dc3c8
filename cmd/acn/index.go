package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/acn-project/acn/internal/sign"
	"github.com/acn-project/acn/repo"
	"github.com/acn-project/acn/specs"
)

const indexAbout = `
Walks DIR for *.rpm files (skipping repodata/ and hidden directories), reads
every header and checksums every file, and writes DIR/repodata: repomd.xml,
primary, filelists and other, as createrepo_c does.

Publication is atomic: new files get unique, checksum-prefixed names and are
fsynced, then repomd.xml is replaced in one rename. Each file's content is
compared with what repomd.xml names first: when nothing changed, no file is
written and repomd.xml is left byte for byte as it was. Files of superseded
generations stay for --retain-old-md generations and --retain-old-md-by-age
(0 and 0: none), so a client that fetched an older repomd.xml still gets
what it names.

Records acn does not write itself (updateinfo, comps groups, modules added
by modifyrepo_c, anything) are carried into the new repomd.xml unchanged,
and their files kept as long as a retained generation names them. A record
of a type acn writes replaces another tool's; one whose file is missing is
dropped, with a warning.

--excludes takes createrepo_c's patterns: '*' matches any string ('/'
included) and '?' one character. Every file and directory is matched by
its name (so a directory name leaves out that directory and all below it),
every package also by its path, and a directory also by its path.

A file that is not a readable RPM, or whose payload does not match the
digest its header carries (as rpm -K checks), is reported and left out, and
the exit status is 1 after the rest is published; with --strict nothing is
published. The exit status is 0 whenever the new repomd.xml went live: a
fault in the cleanup after it (retention, on a full disk) is a warning, and
the next run cleans what this one, or one that was killed, left.
Two files with the same name-epoch-version-release-arch publish nothing.

With --sign-key, repodata/repomd.xml.asc holds a detached signature by each
key (several during a key rotation), written before repomd.xml is replaced,
for clients with repo_gpgcheck=1. An expired key publishes nothing.

With --groupfile (-g), a comps file is published as createrepo_c does it
(records group and group_gz), after a check that it is one: well-formed
UTF-8 XML under <comps>, groups with ids, at most 16 MiB, and no DOCTYPE
internal subset (entity declarations). A file that fails publishes nothing.
A file named *.yaml or *.yml is a groups file in the form of a spec
repository's groups.yaml (see README, "Package groups"): acn checks it as
strictly as a spec and publishes the comps XML it makes of it, under the
file's name with .xml.

Examples:
  acn index /srv/repos/acn
  acn index /srv/repos/acn --update
  acn index /srv/repos/acn --compress xz --changelog-limit 5 --excludes 'debug/*'
  acn index /srv/repos/acn --excludes debug --retain-old-md 0 --retain-old-md-by-age 0
  acn index /srv/repos/acn --sign-key old.key --sign-key new.key
  acn index /srv/repos/acn --update --groupfile comps.xml
  acn index /srv/repos/acn --update --groupfile groups.yaml
`

func runIndex(ctx context.Context, e *env, args []string) error {
	fs := flagSet(e, "index", "index DIR [flags]", indexAbout)
	var (
		o         repo.Options
		excludes  stringList
		distro    stringList
		content   stringList
		signKeys  stringList
		passFiles stringList
		logLevel  = fs.String("log-level", "warn", "log level: debug, info, warn or error")
		logFormat = fs.String("log-format", "text", "log format: text or json")
		cpuProf   = fs.String("cpuprofile", "", "write a CPU profile to `file` (for debugging)")
	)
	fs.BoolVar(&o.Update, "update", false, "reuse what the last run read from files that did not change")
	fs.IntVar(&o.Workers, "workers", 0, "packages read at once (default: number of CPUs)")
	fs.StringVar(&o.Compress, "compress", "gz", "metadata compression: gz, xz or zstd (EL7 reads gz and xz)")
	fs.StringVar(&o.Checksum, "checksum", "sha256", "checksum type: sha256, sha512 or sha1")
	fs.IntVar(&o.ChangelogLimit, "changelog-limit", 10, "changelog entries kept per package (-1: all)")
	retainN := fs.Int("retain-old-md", repo.DefaultRetainOldMD, "superseded metadata generations to keep (0: none)")
	retainAge := fs.Duration("retain-old-md-by-age", repo.DefaultRetainOldMDByAge, "also keep metadata superseded less than this long ago (0: none on account of age)")
	fs.StringVar(&o.Revision, "revision", "", "repomd revision (default: the time, never lower than the last)")
	fs.StringVar(&o.BaseURL, "baseurl", "", "xml:base `URL` for package locations")
	fs.BoolVar(&o.Strict, "strict", false, "publish nothing if any file cannot be read")
	fs.DurationVar(&o.LockWait, "lock-wait", 30*time.Second, "how long to wait for another run on DIR")
	fs.BoolVar(&o.SQLite, "sqlite", false, "also write sqlite databases (*_db), for fast EL7 yum")
	fs.Var(&excludes, "excludes", "leave out files and directories whose name or path matches this `glob` (repeatable; a directory name leaves out the directory, as createrepo_c)")
	fs.Var(&distro, "distro", "distro tag `CPEID,TAG` or TAG (repeatable)")
	fs.Var(&content, "content", "content `tag` (repeatable)")
	fs.StringVar(&o.GroupFile, "groupfile", "", "publish the comps `file` (package groups, for dnf group install; *.yaml: a groups.yaml) as records group and group_gz")
	fs.StringVar(&o.GroupFile, "g", "", "short for --groupfile")
	fs.Var(&signKeys, "sign-key", "sign repomd.xml with the private key in `file` (repeatable: one signature each)")
	fs.Var(&passFiles, "passphrase-file", "`file` whose first line is a --sign-key's passphrase (one for all, or one each)")
	dir, err := parseWithArg(e, fs, args, "DIR")
	if err != nil {
		return err
	}
	log, err := logger(e, *logLevel, *logFormat)
	if err != nil {
		return err
	}
	o.Excludes, o.Content, o.Logger = excludes, content, log
	o.RetainOldMD, o.RetainOldMDByAge = retainN, retainAge
	if o.SignKeys, err = loadSigningKeys("index", signKeys, passFiles); err != nil {
		return err
	}
	if ext := filepath.Ext(o.GroupFile); ext == ".yaml" || ext == ".yml" {
		comps, err := groupsYAMLFile(o.GroupFile)
		if err != nil {
			return err
		}
		defer os.RemoveAll(filepath.Dir(comps))
		o.GroupFile = comps
	}
	switch {
	case o.ChangelogLimit == 0:
		o.ChangelogLimit = repo.ChangelogNone
	case o.ChangelogLimit < 0:
		o.ChangelogLimit = repo.ChangelogAll
	}
	for _, d := range distro {
		tag := repo.DistroTag{Value: d}
		if cpe, v, ok := strings.Cut(d, ","); ok {
			tag = repo.DistroTag{CPEID: cpe, Value: v}
		}
		o.Distro = append(o.Distro, tag)
	}
	var pb *bar
	if isTerminal(e.stderr) {
		pb = &bar{w: e.stderr, label: "indexing packages", count: true}
		o.Progress = func(done, total int) { pb.update(int64(done), int64(total)) }
	}
	// Indexing allocates much and keeps little: collect less often, but
	// stay well under 64 MiB.
	debug.SetGCPercent(400)
	debug.SetMemoryLimit(48 << 20)
	stopProfile, err := cpuProfile(*cpuProf)
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := repo.Index(ctx, dir, o)
	stopProfile()
	if pb != nil {
		pb.clear()
	}
	if res != nil {
		state := "published revision " + res.Revision
		if !res.Changed {
			state = "unchanged, revision " + res.Revision
		}
		if res.Revision != "" || res.Changed {
			fmt.Fprintf(e.stdout, "%s: %d packages (%d read, %d reused), %s, %s\n", dir, res.Packages, res.Read, res.Reused, state, time.Since(start).Round(time.Millisecond))
		}
		// Published: a fault in the cleanup after it is not a failure,
		// and the next run retries the cleanup.
		for _, w := range res.Warnings {
			fmt.Fprintf(e.stderr, "acn: warning: %s is published, but: %v\n", dir, w)
		}
	}
	return err
}

// groupsYAMLFile converts the groups file name (a groups.yaml) to comps
// XML, checked as a comps file is, in a temporary directory that the
// caller removes, under name's base name with .xml (the name the file is
// published under).
func groupsYAMLFile(name string) (string, error) {
	g, err := specs.ReadGroupsFile(name)
	if err != nil {
		return "", fmt.Errorf("group file: %w", err)
	}
	data := g.Comps()
	if _, err := repo.ParseGroups(name, data); err != nil {
		return "", fmt.Errorf("group file: the comps XML made of it: %w", err)
	}
	dir, err := os.MkdirTemp("", "acn-groups-")
	if err != nil {
		return "", fmt.Errorf("group file %s: %w", name, err)
	}
	base := filepath.Base(name)
	comps := filepath.Join(dir, base[:len(base)-len(filepath.Ext(base))]+".xml")
	if err := os.WriteFile(comps, data, 0o644); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("group file %s: %w", name, err)
	}
	return comps, nil
}

// parseWithArg parses flags that may come before or after one positional
// argument, as in "acn index DIR --update".
func parseWithArg(e *env, fs *flag.FlagSet, args []string, name string) (string, error) {
	if err := parse(e, fs, args); err != nil {
		return "", err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return "", errUsage{name + " is required"}
	}
	arg := fs.Arg(0)
	if err := fs.Parse(fs.Args()[1:]); err != nil {
		return "", errUsage{err.Error()}
	}
	if fs.NArg() > 0 {
		return "", errUsage{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return arg, nil
}

// cpuProfile starts a CPU profile written to path, if path is set, and
// returns what stops it.
func cpuProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// loadSigningKeys loads private keys, each with the passphrase file of
// the same rank, or the only one given.
func loadSigningKeys(cmd string, keyFiles, passFiles []string) ([]*sign.Key, error) {
	if len(passFiles) > 1 && len(passFiles) != len(keyFiles) || len(passFiles) > 0 && len(keyFiles) == 0 {
		return nil, errUsage{cmd + ": give one --passphrase-file for every key, or one for all"}
	}
	var keys []*sign.Key
	for i, kf := range keyFiles {
		pf := ""
		switch {
		case len(passFiles) == 1:
			pf = passFiles[0]
		case len(passFiles) > 1:
			pf = passFiles[i]
		}
		k, err := sign.LoadKey(kf, pf)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cmd, err)
		}
		if !k.Info().Private {
			return nil, fmt.Errorf("%s: %s: %w", cmd, kf, sign.ErrNoPrivateKey)
		}
		keys = append(keys, k)
	}
	return keys, nil
}
