package specs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/acn-project/acn/internal/rpmver"
)

// Sentinel errors wrapped by [*Error]; test with [errors.Is].
var (
	ErrSyntax     = errors.New("specs: invalid YAML")
	ErrUnknownKey = errors.New("specs: unknown key")
	ErrMissingKey = errors.New("specs: missing required key")
	ErrInvalid    = errors.New("specs: invalid value")
	ErrEscapes    = errors.New("specs: path escapes its root")
	// ErrAlias is wrapped for a YAML alias (*name) or merge key (<<): a
	// spec is plain data, each value written where it applies.
	ErrAlias = errors.New("specs: YAML alias or merge key not allowed")
	// ErrTooLarge is wrapped for a spec file over [MaxSpecSize].
	ErrTooLarge = errors.New("specs: spec file too large")
)

// MaxSpecSize bounds a spec file, so that parsing one takes bounded time
// and memory whatever was pushed.
const MaxSpecSize = 256 << 10

// maxErrors bounds the errors one file reports; the rest are counted.
const maxErrors = 20

// Error is a problem in one spec file, located by line and key.
type Error struct {
	File  string // path of the spec file, e.g. specs/appstruct.yaml
	Line  int    // 1-based; 0 when the whole file is at fault
	Field string // dotted key path, e.g. files[2].dst; empty for syntax errors
	Err   error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Field != "" {
		b.WriteString(": ")
		b.WriteString(e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// DestDirPrefix starts a file source that build steps installed rather
// than one from the git tree.
const DestDirPrefix = "$DESTDIR/"

// Spec is one validated package definition.
type Spec struct {
	File string // where it was read from, e.g. specs/appstruct.yaml

	Name        string
	Version     string
	Release     string // default "1"
	Epoch       *uint32
	Arch        string // default "noarch"
	Summary     string
	Description string // default: the summary
	License     string
	URL         string
	Vendor      string
	Packager    string
	Group       string // default "Unspecified"

	Requires    []Dep
	Provides    []Dep
	Conflicts   []Dep
	Obsoletes   []Dep
	Recommends  []Dep
	Suggests    []Dep
	Supplements []Dep
	Enhances    []Dep

	Sources []Source
	Build   []string
	// Timeout bounds all build steps together; zero means the builder's
	// default.
	Timeout time.Duration
	Env     map[string]string // extra variables for build steps
	// Network lets the build steps use the host's network; by default
	// they have only a loopback of their own. The builder logs it and a
	// build page shows it.
	Network bool
	// Root is a root file system the steps run in instead of the host's
	// system directories (an absolute path on the build host); "" means
	// the builder's default.
	Root string
	// BuildRequires are what the steps need installed in their root;
	// RootLine is where the list starts, for errors about it.
	BuildRequires []Dep
	RootLine      int

	Files []File
	// FilesLine is where the files list starts, for errors about it.
	FilesLine int
	// Exclude are globs over $DESTDIR paths (such as /usr/lib/*.la) of
	// installed files the package leaves out on purpose: the builder
	// fails a build that installs a file no files entry takes, unless one
	// of these matches it or a directory above it.
	Exclude []Exclude

	Scripts   Scripts
	Changelog []Change

	// Packages are the subpackages built from the same steps and tree
	// (see packages.go); the top-level fields describe the main package.
	Packages []Package
	// Debuginfo says whether ELF files are stripped and their debug
	// information packed into <name>-debuginfo; default true, and
	// "debuginfo: false" turns it off.
	Debuginfo bool
	// AutoDeps switches and filters the builder's automatic dependencies
	// (see autodeps.go); they apply to every package of the spec.
	AutoDeps AutoDeps
}

// Exclude is one glob of the exclude list, in path.Match syntax.
type Exclude struct {
	Glob string // absolute, e.g. /usr/lib/*.la
	Line int
}

// Excluded reports whether the $DESTDIR path name (absolute, such as
// /usr/lib/libx.la) or a directory above it matches one of the exclude
// globs.
func (s *Spec) Excluded(name string) bool {
	for p := name; p != "/" && p != "." && p != ""; p = path.Dir(p) {
		for _, x := range s.Exclude {
			if ok, _ := path.Match(x.Glob, p); ok {
				return true
			}
		}
	}
	return false
}

// EVR is [epoch:]version-release.
func (s *Spec) EVR() string { return rpmver.EVR(s.epoch(), s.Version, s.Release) }

// NEVRA names the binary package, e.g. appstruct-1.4.0-1.noarch or
// appstruct-2:1.4.0-1.noarch, as the repository metadata does.
func (s *Spec) NEVRA() string { return rpmver.NEVRA(s.Name, s.epoch(), s.Version, s.Release, s.Arch) }

func (s *Spec) epoch() string {
	if s.Epoch == nil {
		return ""
	}
	return strconv.FormatUint(uint64(*s.Epoch), 10)
}

// Dep is one dependency such as "nginx >= 1.20". A rich dependency
// ("(a or b)") is kept whole in Name with an empty Op.
type Dep struct {
	Name    string
	Op      string // "", "<", "<=", "=", ">=", ">"
	Version string
}

func (d Dep) String() string {
	if d.Op == "" {
		return d.Name
	}
	return d.Name + " " + d.Op + " " + d.Version
}

// Rich reports whether d is a boolean (rich) dependency.
func (d Dep) Rich() bool { return strings.HasPrefix(d.Name, "(") }

// Source is an extra input downloaded before the build steps run.
type Source struct {
	URL    string
	SHA256 string
	Name   string // file name under $SOURCEDIR; default: the URL's base name
	Line   int
}

// FileType says how rpm treats a packaged path.
type FileType string

// The file types a spec may name.
const (
	TypeFile            FileType = "file"
	TypeConfig          FileType = "config"
	TypeConfigNoReplace FileType = "config|noreplace"
	TypeDoc             FileType = "doc"
	TypeLicense         FileType = "license"
	TypeGhost           FileType = "ghost"
	TypeDir             FileType = "dir"
	TypeSymlink         FileType = "symlink"
)

// File is one entry of the files list.
type File struct {
	Src    string // relative to the repository root, or starting with $DESTDIR/; cleaned
	Dst    string // absolute path in the package; cleaned
	Tree   bool   // Src or Dst ended in "/": pack a whole tree
	Type   FileType
	Mode   uint32 // permission bits; 0 means "from the source"
	Owner  string
	Group  string
	Target string // symlink target

	Index int // position in the files list
	Line  int // line of the entry in the spec file
	// Prefix places the files list of a subpackage in errors, e.g.
	// "packages[0]."; empty for the main package.
	Prefix string
}

// FromDestDir reports whether f is read from what build steps installed.
func (f File) FromDestDir() bool {
	return f.Src == "$DESTDIR" || strings.HasPrefix(f.Src, DestDirPrefix)
}

// Field names the entry for errors, e.g. files[2].
func (f File) Field() string { return fmt.Sprintf("%sfiles[%d]", f.Prefix, f.Index) }

// Scripts are the package's scriptlets, each run by /bin/sh.
type Scripts struct {
	Pre, Post, PreUn, PostUn, PreTrans, PostTrans string
}

// Change is one changelog entry.
type Change struct {
	Date    time.Time // noon UTC of the day, as rpmbuild stores it
	Author  string
	Version string
	Text    string
	// Advisory, when set, announces an update advisory for the version
	// the entry names (see advisory.go).
	Advisory *Advisory
}

// raw mirrors the YAML document; its yaml tags define the known keys.
type raw struct {
	Name         string            `yaml:"name"`
	Version      string            `yaml:"version"`
	Release      string            `yaml:"release"`
	Epoch        *uint32           `yaml:"epoch"`
	Arch         string            `yaml:"arch"`
	Summary      string            `yaml:"summary"`
	Description  string            `yaml:"description"`
	License      string            `yaml:"license"`
	URL          string            `yaml:"url"`
	Vendor       string            `yaml:"vendor"`
	Packager     string            `yaml:"packager"`
	Group        string            `yaml:"group"`
	Requires     []string          `yaml:"requires"`
	Provides     []string          `yaml:"provides"`
	Conflicts    []string          `yaml:"conflicts"`
	Obsoletes    []string          `yaml:"obsoletes"`
	Recommends   []string          `yaml:"recommends"`
	Suggests     []string          `yaml:"suggests"`
	Supplements  []string          `yaml:"supplements"`
	Enhances     []string          `yaml:"enhances"`
	Sources      []rawSource       `yaml:"sources"`
	Build        []string          `yaml:"build"`
	Timeout      string            `yaml:"timeout"`
	Env          map[string]string `yaml:"env"`
	Network      bool              `yaml:"network"`
	Root         string            `yaml:"root"`
	BuildReqs    []string          `yaml:"build_requires"`
	Files        []rawFile         `yaml:"files"`
	Exclude      []string          `yaml:"exclude"`
	Scripts      rawScripts        `yaml:"scripts"`
	Changelog    []rawChange       `yaml:"changelog"`
	Packages     []rawPackage      `yaml:"packages"`
	Debuginfo    *bool             `yaml:"debuginfo"`
	AutoReq      *bool             `yaml:"autoreq"`
	AutoProv     *bool             `yaml:"autoprov"`
	ReqExcl      string            `yaml:"requires_exclude"`
	ProvExcl     string            `yaml:"provides_exclude"`
	ReqExclFrom  string            `yaml:"requires_exclude_from"`
	ProvExclFrom string            `yaml:"provides_exclude_from"`
}

type rawSource struct {
	URL    string `yaml:"url"`
	SHA256 string `yaml:"sha256"`
	Name   string `yaml:"name"`
}

type rawFile struct {
	Src    string `yaml:"src"`
	Dst    string `yaml:"dst"`
	Type   string `yaml:"type"`
	Mode   string `yaml:"mode"`
	Owner  string `yaml:"owner"`
	Group  string `yaml:"group"`
	Target string `yaml:"target"`
}

type rawScripts struct {
	Pre       string `yaml:"pre"`
	Post      string `yaml:"post"`
	PreUn     string `yaml:"preun"`
	PostUn    string `yaml:"postun"`
	PreTrans  string `yaml:"pretrans"`
	PostTrans string `yaml:"posttrans"`
}

type rawChange struct {
	Date     string       `yaml:"date"`
	Author   string       `yaml:"author"`
	Version  string       `yaml:"version"`
	Text     string       `yaml:"text"`
	Advisory *rawAdvisory `yaml:"advisory"`
}

var (
	nameRE    = regexp.MustCompile(`^[A-Za-z0-9_+][A-Za-z0-9._+-]*$`)
	versionRE = regexp.MustCompile(`^[A-Za-z0-9._+~^]+$`)
	archRE    = regexp.MustCompile(`^[a-z0-9_]+$`)
	userRE    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]*\$?$`)
	modeRE    = regexp.MustCompile(`^0?[0-7]{3,4}$`)
	sha256RE  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	envKeyRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	dateRE    = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

// Parse decodes and validates one spec file. file is the path reported in
// errors and kept in Spec.File; when it has the form specs/<name>.yaml the
// name key must match it. The returned error joins every [*Error] found.
//
// Parse takes time and memory linear in len(data), which must not exceed
// [MaxSpecSize]. YAML aliases and merge keys are refused ([ErrAlias]), so
// that every value is read from where it is written and an error points
// there.
func Parse(file string, data []byte) (s *Spec, err error) {
	if len(data) > MaxSpecSize {
		return nil, tooLarge(file, int64(len(data)))
	}
	// yaml.v3 has panicked on crafted input before; a spec must never take
	// its caller down.
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, &Error{File: file, Err: &detail{sentinel: ErrSyntax, msg: fmt.Sprintf("YAML parser failed: %v", r)}}
		}
	}()
	var r raw
	p, root, err := document{what: "spec", typ: typeRaw}.decode(file, data, &r)
	if err != nil {
		return nil, err
	}
	s = p.validate(root, &r)
	if err := p.err(); err != nil {
		return nil, err
	}
	return s, nil
}

// document describes one kind of YAML file acn reads.
type document struct {
	what  string       // "spec", "groups file"
	typ   reflect.Type // of the value decoded
	field string       // reported when the document is empty
	// dupKeys reports a key written twice as a field error; otherwise
	// the YAML decoder refuses it as a syntax error.
	dupKeys bool
}

// decode reads data as exactly one YAML document of kind d into v:
// aliases and keys or values of the wrong shape are errors naming file,
// line and field. It returns the parser that holds what validation finds
// next, and the document's root node.
func (d document) decode(file string, data []byte, v any) (*parser, *yaml.Node, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, syntaxError(file, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil, &Error{File: file, Field: d.field, Err: &detail{sentinel: ErrMissingKey, msg: "empty document"}}
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, nil, syntaxError(file, err)
		}
		return nil, nil, &Error{File: file, Line: next.Line, Err: &detail{sentinel: ErrSyntax, msg: "a " + d.what + " is one YAML document; found a second one"}}
	}
	root := doc.Content[0]
	p := &parser{file: file}
	p.checkNodes(root, d.dupKeys)
	if err := p.err(); err != nil {
		return nil, nil, err
	}
	p.checkShape(root, d.typ, "")
	if err := p.err(); err != nil {
		return nil, nil, err
	}
	if err := root.Decode(v); err != nil {
		return nil, nil, syntaxError(file, err)
	}
	return p, root, nil
}

func tooLarge(file string, size int64) error {
	return &Error{File: file, Err: &detail{sentinel: ErrTooLarge,
		msg: fmt.Sprintf("%d bytes, the limit is %d KiB", size, MaxSpecSize>>10)}}
}

// checkNodes reports every alias and merge key in the document. With
// none, the node tree is the document as written: no value is shared, no
// expansion can grow it, and each error can name the line of its value.
// With dupKeys, it also reports a key written twice in one mapping, with
// the line of the first (the YAML decoder would refuse it later without
// naming the field). The walk is linear in the number of nodes (yaml.v3
// bounds their depth, and aliases are not followed); a field path is
// rendered only for an error reported.
func (p *parser) checkNodes(n *yaml.Node, dupKeys bool) {
	var path []string // keys and [i] from the root to n
	var walk func(n *yaml.Node)
	report := func(line int, format string, args ...any) {
		if p.full() {
			p.dropped++
			return
		}
		p.add(line, renderField(path), ErrAlias, format, args...)
	}
	walk = func(n *yaml.Node) {
		switch n.Kind {
		case yaml.AliasNode:
			report(n.Line, "*%s: write the value out here", n.Value)
		case yaml.MappingNode:
			var seen map[string]int
			if dupKeys {
				seen = map[string]int{}
			}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				path = append(path, k.Value)
				if prev, dup := seen[k.Value]; dup {
					p.add(k.Line, renderField(path), ErrInvalid, "written twice; first on line %d", prev)
				} else if seen != nil {
					seen[k.Value] = k.Line
				}
				if k.Tag == "!!merge" {
					report(k.Line, "<<: write the keys out here")
				} else {
					walk(k)
					walk(v)
				}
				path = path[:len(path)-1]
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				path = append(path, "["+strconv.Itoa(i)+"]")
				walk(c)
				path = path[:len(path)-1]
			}
		}
	}
	walk(n)
}

// renderField joins a path of keys and [i] indexes as errors show it,
// e.g. files[2].dst, shortened if a deep document makes it long.
func renderField(path []string) string {
	var b strings.Builder
	for _, part := range path {
		if b.Len() > 0 && !strings.HasPrefix(part, "[") {
			b.WriteByte('.')
		}
		b.WriteString(part)
		if b.Len() > 120 {
			b.WriteString("...")
			break
		}
	}
	return b.String()
}

type parser struct {
	file    string
	errs    []error
	dropped int // errors past maxErrors
}

func (p *parser) err() error {
	if p.dropped > 0 {
		return errors.Join(append(p.errs, &Error{File: p.file, Err: fmt.Errorf("%d more errors not shown", p.dropped)})...)
	}
	return errors.Join(p.errs...)
}

// full reports whether no more errors will be shown.
func (p *parser) full() bool { return len(p.errs) >= maxErrors }

func (p *parser) add(line int, field string, sentinel error, format string, args ...any) {
	if p.full() {
		p.dropped++
		return
	}
	err := error(&detail{sentinel: sentinel})
	if format != "" {
		err = &detail{sentinel: sentinel, msg: fmt.Sprintf(format, args...)}
	}
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Field: field, Err: err})
}

// detail reads well after a file:line: key prefix ("unknown key "x"")
// while still matching its sentinel with errors.Is.
type detail struct {
	sentinel error
	msg      string
}

func (d *detail) Error() string {
	s := strings.TrimPrefix(d.sentinel.Error(), "specs: ")
	if d.msg == "" {
		return s
	}
	return s + ": " + d.msg
}

func (d *detail) Unwrap() error { return d.sentinel }

// Errorf makes an error that matches sentinel with errors.Is and reads
// well inside an [Error]: "invalid value: <message>".
func Errorf(sentinel error, format string, args ...any) error {
	return &detail{sentinel: sentinel, msg: fmt.Sprintf(format, args...)}
}

var lineRE = regexp.MustCompile(`line (\d+): (.*)`)

func syntaxError(file string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	e := &Error{File: file}
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	e.Err = &detail{sentinel: ErrSyntax, msg: msg}
	return e
}

// find returns the value node at key in a mapping, or nil.
func find(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// lineOf is the line of key's value in m, or of m itself.
func lineOf(m *yaml.Node, key string) int {
	if n := find(m, key); n != nil {
		return n.Line
	}
	if m != nil {
		return m.Line
	}
	return 0
}

// item returns the i-th node of a sequence. It never returns nil, so that
// an error can always take a line from it: without the item, the sequence
// itself, else an empty node (line 0: the whole file).
func item(n *yaml.Node, i int) *yaml.Node {
	if n == nil {
		return &yaml.Node{}
	}
	if n.Kind != yaml.SequenceNode || i < 0 || i >= len(n.Content) {
		return n
	}
	return n.Content[i]
}

func (p *parser) validate(root *yaml.Node, r *raw) *Spec {
	s := &Spec{
		File:        p.file,
		Name:        strings.TrimSpace(r.Name),
		Version:     strings.TrimSpace(r.Version),
		Release:     strings.TrimSpace(r.Release),
		Epoch:       r.Epoch,
		Arch:        strings.TrimSpace(r.Arch),
		Summary:     strings.TrimSpace(r.Summary),
		Description: strings.TrimRight(r.Description, "\n"),
		License:     strings.TrimSpace(r.License),
		URL:         strings.TrimSpace(r.URL),
		Vendor:      strings.TrimSpace(r.Vendor),
		Packager:    strings.TrimSpace(r.Packager),
		Group:       strings.TrimSpace(r.Group),
		Build:       r.Build,
		Env:         r.Env,
		Network:     r.Network,
		Root:        strings.TrimSpace(r.Root),
	}
	required := func(key, v string) bool {
		if v == "" {
			p.add(lineOf(root, key), key, ErrMissingKey, "")
			return false
		}
		return true
	}
	if required("name", s.Name) {
		if !nameRE.MatchString(s.Name) {
			p.add(lineOf(root, "name"), "name", ErrInvalid, "%q is not a valid package name (letters, digits and ._+- only)", s.Name)
		} else if dir, base := path.Split(p.file); path.Base(dir) == "specs" && strings.TrimSuffix(base, ".yaml") != s.Name {
			p.add(lineOf(root, "name"), "name", ErrInvalid, "%q does not match the file name %s", s.Name, base)
		}
	}
	if required("version", s.Version) {
		p.checkVersion(lineOf(root, "version"), "version", s.Version)
	}
	if s.Release == "" {
		s.Release = "1"
	} else {
		p.checkVersion(lineOf(root, "release"), "release", s.Release)
	}
	if s.Arch == "" {
		s.Arch = "noarch"
	} else if !archRE.MatchString(s.Arch) {
		p.add(lineOf(root, "arch"), "arch", ErrInvalid, "%q is not an architecture name", s.Arch)
	}
	if required("summary", s.Summary) && strings.Contains(s.Summary, "\n") {
		p.add(lineOf(root, "summary"), "summary", ErrInvalid, "must be one line")
	}
	if s.Description == "" {
		s.Description = s.Summary
	}
	required("license", s.License)
	if s.Group == "" {
		s.Group = "Unspecified"
	}

	deps := []struct {
		key string
		in  []string
		out *[]Dep
	}{
		{"requires", r.Requires, &s.Requires},
		{"provides", r.Provides, &s.Provides},
		{"conflicts", r.Conflicts, &s.Conflicts},
		{"obsoletes", r.Obsoletes, &s.Obsoletes},
		{"recommends", r.Recommends, &s.Recommends},
		{"suggests", r.Suggests, &s.Suggests},
		{"supplements", r.Supplements, &s.Supplements},
		{"enhances", r.Enhances, &s.Enhances},
		{"build_requires", r.BuildReqs, &s.BuildRequires},
	}
	for _, d := range deps {
		p.depList(root, "", d.key, d.in, d.out)
	}

	for i, d := range s.BuildRequires {
		if d.Rich() {
			p.add(item(find(root, "build_requires"), i).Line, fmt.Sprintf("build_requires[%d]", i), ErrInvalid, "%q: rich dependencies are not supported here", d.Name)
		}
	}
	s.RootLine = lineOf(root, "build_requires")
	if s.Root != "" && (!path.IsAbs(s.Root) || path.Clean(s.Root) != s.Root || s.Root == "/") {
		p.add(lineOf(root, "root"), "root", ErrInvalid, "%q: want the absolute, clean path of a root file system", s.Root)
	}
	if (s.Root != "" || len(s.BuildRequires) > 0) && len(s.Build) == 0 {
		key := "root"
		if s.Root == "" {
			key = "build_requires"
		}
		p.add(lineOf(root, key), key, ErrInvalid, "only build steps use it, and the spec has no build steps")
	}

	srcs := find(root, "sources")
	srcNames := map[string]struct {
		field string
		line  int
	}{}
	for i, rs := range r.Sources {
		n := item(srcs, i)
		field := fmt.Sprintf("sources[%d]", i)
		src := Source{URL: strings.TrimSpace(rs.URL), SHA256: strings.ToLower(strings.TrimSpace(rs.SHA256)), Name: rs.Name, Line: n.Line}
		if src.URL == "" {
			p.add(n.Line, field+".url", ErrMissingKey, "")
		} else if !strings.Contains(src.URL, "://") {
			p.add(lineOf(n, "url"), field+".url", ErrInvalid, "%q is not a URL", src.URL)
		}
		if !sha256RE.MatchString(src.SHA256) {
			p.add(lineOf(n, "sha256"), field+".sha256", ErrInvalid, "want 64 hex digits of the file's SHA-256")
		}
		if src.Name == "" {
			src.Name = path.Base(strings.SplitN(strings.SplitN(src.URL, "?", 2)[0], "#", 2)[0])
		}
		if src.Name == "" || src.Name == "." || src.Name == ".." || src.Name == "/" || strings.ContainsAny(src.Name, "/\\") {
			p.add(lineOf(n, "name"), field+".name", ErrInvalid, "%q is not a plain file name", src.Name)
		} else if prev, ok := srcNames[src.Name]; ok {
			p.add(lineOf(n, "name"), field+".name", ErrInvalid, "%q is already the name of %s (line %d); give one of them another name", src.Name, prev.field, prev.line)
		} else {
			srcNames[src.Name] = struct {
				field string
				line  int
			}{field, src.Line}
		}
		s.Sources = append(s.Sources, src)
	}

	steps := find(root, "build")
	for i, step := range r.Build {
		if strings.TrimSpace(step) == "" {
			p.add(item(steps, i).Line, fmt.Sprintf("build[%d]", i), ErrInvalid, "empty step")
		}
	}
	if r.Timeout != "" {
		d, err := time.ParseDuration(r.Timeout)
		if err != nil || d <= 0 {
			p.add(lineOf(root, "timeout"), "timeout", ErrInvalid, "%q is not a positive duration such as 30m", r.Timeout)
		}
		s.Timeout = d
	}
	for k := range r.Env {
		if !envKeyRE.MatchString(k) {
			p.add(lineOf(root, "env"), "env."+k, ErrInvalid, "not a variable name")
		}
	}

	files := find(root, "files")
	s.FilesLine = lineOf(root, "files")
	excl := find(root, "exclude")
	for i, g := range r.Exclude {
		field, line := fmt.Sprintf("exclude[%d]", i), item(excl, i).Line
		_, err := path.Match(g, "")
		switch {
		case len(s.Build) == 0:
			p.add(line, field, ErrInvalid, "only what build steps install in $DESTDIR is checked, and the spec has no build steps")
		case err != nil:
			p.add(line, field, ErrInvalid, "%q: %v", g, err)
		case !path.IsAbs(g) || path.Clean(g) != g || g == "/":
			p.add(line, field, ErrInvalid, "%q: want an absolute, clean glob over $DESTDIR paths such as /usr/lib/*.la", g)
		default:
			s.Exclude = append(s.Exclude, Exclude{Glob: g, Line: line})
		}
	}
	seen := map[string]*File{}
	for i, rf := range r.Files {
		f := p.file1(item(files, i), i, "", rf)
		if f == nil {
			continue
		}
		if prev, ok := seen[f.Dst]; ok && !f.Tree {
			p.add(f.Line, f.Field()+".dst", ErrInvalid, "%s is already packaged by %s (line %d)", f.Dst, prev.Field(), prev.Line)
		}
		seen[f.Dst] = f
		s.Files = append(s.Files, *f)
	}
	s.Debuginfo = r.Debuginfo == nil || *r.Debuginfo
	p.autoDeps(root, r, s)
	p.packages(root, r, s, seen)

	s.Scripts = Scripts{Pre: r.Scripts.Pre, Post: r.Scripts.Post, PreUn: r.Scripts.PreUn,
		PostUn: r.Scripts.PostUn, PreTrans: r.Scripts.PreTrans, PostTrans: r.Scripts.PostTrans}

	log := find(root, "changelog")
	for i, rc := range r.Changelog {
		n := item(log, i)
		field := fmt.Sprintf("changelog[%d]", i)
		c := Change{Author: strings.TrimSpace(rc.Author), Version: strings.TrimSpace(rc.Version), Text: strings.TrimRight(rc.Text, "\n")}
		d, err := time.Parse("2006-01-02", strings.TrimSpace(rc.Date))
		switch {
		case rc.Date == "":
			p.add(n.Line, field+".date", ErrMissingKey, "")
		case err != nil || !dateRE.MatchString(strings.TrimSpace(rc.Date)):
			p.add(lineOf(n, "date"), field+".date", ErrInvalid, "%q is not a date like 2026-01-31", rc.Date)
		default:
			c.Date = d.Add(12 * time.Hour)
		}
		if c.Author == "" {
			p.add(n.Line, field+".author", ErrMissingKey, "")
		}
		if c.Text == "" {
			p.add(n.Line, field+".text", ErrMissingKey, "")
		}
		if i > 0 && !c.Date.IsZero() && !s.Changelog[i-1].Date.IsZero() && c.Date.After(s.Changelog[i-1].Date) {
			p.add(lineOf(n, "date"), field+".date", ErrInvalid, "changelog must be newest first: %s is after the entry above", rc.Date)
		}
		c.Advisory = p.advisory(n, field, &c, rc.Advisory)
		s.Changelog = append(s.Changelog, c)
	}
	return s
}

func (p *parser) checkVersion(line int, key, v string) {
	switch {
	case strings.Contains(v, "-"):
		p.add(line, key, ErrInvalid, "%q must not contain '-'", v)
	case !versionRE.MatchString(v):
		p.add(line, key, ErrInvalid, "%q has characters rpm does not allow in a %s", v, key)
	}
}

// file1 validates one files entry; nil means it was rejected.
func (p *parser) file1(n *yaml.Node, i int, prefix string, rf rawFile) *File {
	f := &File{Index: i, Line: n.Line, Prefix: prefix, Type: FileType(strings.TrimSpace(rf.Type)),
		Owner: strings.TrimSpace(rf.Owner), Group: strings.TrimSpace(rf.Group), Target: rf.Target}
	field := f.Field()
	bad := len(p.errs)
	if f.Type == "" {
		f.Type = TypeFile
	}
	switch f.Type {
	case TypeFile, TypeConfig, TypeConfigNoReplace, TypeDoc, TypeLicense:
		if rf.Src == "" {
			p.add(n.Line, field+".src", ErrMissingKey, "type %s needs a src", f.Type)
		}
	case TypeGhost, TypeDir:
		if rf.Src != "" {
			p.add(lineOf(n, "src"), field+".src", ErrInvalid, "type %s takes no src", f.Type)
		}
	case TypeSymlink:
		if rf.Src != "" {
			p.add(lineOf(n, "src"), field+".src", ErrInvalid, "type symlink takes a target, not a src")
		}
		if rf.Target == "" {
			p.add(n.Line, field+".target", ErrMissingKey, "type symlink needs a target")
		}
	default:
		p.add(lineOf(n, "type"), field+".type", ErrInvalid,
			"%q is not one of file, config, config|noreplace, doc, license, ghost, dir, symlink", rf.Type)
	}
	if rf.Target != "" && f.Type != TypeSymlink {
		p.add(lineOf(n, "target"), field+".target", ErrInvalid, "only a symlink has a target")
	}
	if strings.ContainsRune(rf.Target, 0) {
		p.add(lineOf(n, "target"), field+".target", ErrInvalid, "contains a NUL byte")
	}

	if rf.Dst == "" {
		p.add(n.Line, field+".dst", ErrMissingKey, "")
	} else {
		dst, err := cleanDst(rf.Dst)
		if err != nil {
			p.add(lineOf(n, "dst"), field+".dst", err, "%q", rf.Dst)
		}
		f.Dst = dst
		f.Tree = strings.HasSuffix(rf.Dst, "/")
	}
	if rf.Src != "" {
		src, err := cleanSrc(rf.Src)
		if err != nil {
			p.add(lineOf(n, "src"), field+".src", err, "%q", rf.Src)
		}
		f.Src = src
		f.Tree = f.Tree || strings.HasSuffix(rf.Src, "/")
	}
	if rf.Mode != "" {
		if !modeRE.MatchString(rf.Mode) {
			p.add(lineOf(n, "mode"), field+".mode", ErrInvalid, "%q is not an octal mode such as \"0644\"", rf.Mode)
		} else {
			m, _ := strconv.ParseUint(rf.Mode, 8, 32)
			f.Mode = uint32(m)
		}
		if f.Type == TypeSymlink {
			p.add(lineOf(n, "mode"), field+".mode", ErrInvalid, "a symlink has no mode of its own")
		}
	}
	if f.Owner == "" {
		f.Owner = "root"
	} else if !userRE.MatchString(f.Owner) {
		p.add(lineOf(n, "owner"), field+".owner", ErrInvalid, "%q is not a user name", f.Owner)
	}
	if f.Group == "" {
		f.Group = "root"
	} else if !userRE.MatchString(f.Group) {
		p.add(lineOf(n, "group"), field+".group", ErrInvalid, "%q is not a group name", f.Group)
	}
	if len(p.errs) > bad {
		return nil
	}
	return f
}

// cleanDst makes an absolute package path canonical and refuses one that
// leaves the root or names the root itself.
func cleanDst(dst string) (string, error) {
	if !strings.HasPrefix(dst, "/") {
		return "", &detail{sentinel: ErrInvalid, msg: "must be an absolute path"}
	}
	if hasDotDot(dst) {
		return "", ErrEscapes
	}
	if !utf8.ValidString(dst) || strings.ContainsFunc(dst, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", &detail{sentinel: ErrInvalid, msg: "a path in a package must be UTF-8 without control characters"}
	}
	c := path.Clean(dst)
	if c == "/" {
		return "", &detail{sentinel: ErrInvalid, msg: "the root directory itself cannot be packaged"}
	}
	return c, nil
}

// cleanSrc makes a source path canonical: relative to the repository root,
// or $DESTDIR/ followed by a path relative to the install root.
func cleanSrc(src string) (string, error) {
	rest, dest := strings.CutPrefix(src, DestDirPrefix)
	if !dest && (src == "$DESTDIR" || strings.HasPrefix(src, "${DESTDIR}")) {
		return "", &detail{sentinel: ErrInvalid, msg: "write $DESTDIR/ followed by a path"}
	}
	if strings.HasPrefix(rest, "/") {
		if dest {
			rest = strings.TrimLeft(rest, "/")
		} else {
			return "", &detail{sentinel: ErrEscapes, msg: "must be relative to the repository root"}
		}
	}
	if hasDotDot(rest) {
		return "", ErrEscapes
	}
	if strings.ContainsRune(rest, 0) {
		return "", &detail{sentinel: ErrInvalid, msg: "contains a NUL byte"}
	}
	c := path.Clean(rest)
	if c == "." && !dest {
		return "", &detail{sentinel: ErrInvalid, msg: "the repository root itself cannot be packaged"}
	}
	if dest {
		if c == "." {
			return "$DESTDIR", nil
		}
		return DestDirPrefix + c, nil
	}
	return c, nil
}

func hasDotDot(p string) bool {
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return true
		}
	}
	return false
}

var depOps = map[string]string{"<": "<", "<=": "<=", "=<": "<=", "=": "=", "==": "=", ">=": ">=", "=>": ">=", ">": ">"}

// ParseDep parses "name", "name OP version" (OP one of < <= = >= >) or a
// rich dependency in parentheses.
func ParseDep(s string) (Dep, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Dep{}, errors.New("empty dependency")
	}
	if strings.HasPrefix(s, "(") {
		if !strings.HasSuffix(s, ")") || strings.Count(s, "(") != strings.Count(s, ")") {
			return Dep{}, fmt.Errorf("rich dependency %q has unbalanced parentheses", s)
		}
		return Dep{Name: s}, nil
	}
	parts := strings.Fields(s)
	switch len(parts) {
	case 1:
		if strings.ContainsAny(s, "<>=") {
			return Dep{}, fmt.Errorf("%q: put spaces around the operator, as in \"nginx >= 1.20\"", s)
		}
		return Dep{Name: s}, nil
	case 3:
		op, ok := depOps[parts[1]]
		if !ok {
			return Dep{}, fmt.Errorf("%q: unknown operator %q", s, parts[1])
		}
		if !evrRE.MatchString(parts[2]) {
			return Dep{}, fmt.Errorf("%q: %q is not a version", s, parts[2])
		}
		return Dep{Name: parts[0], Op: op, Version: parts[2]}, nil
	}
	return Dep{}, fmt.Errorf("%q: want \"name\" or \"name OP version\"", s)
}

var evrRE = regexp.MustCompile(`^([0-9]+:)?[A-Za-z0-9._+~^]+(-[A-Za-z0-9._+~^]+)?$`)

// depList parses one dependency list of the mapping n (the spec, or one
// of its packages, whose fields start with prefix) into out.
func (p *parser) depList(n *yaml.Node, prefix, key string, in []string, out *[]Dep) {
	list := find(n, key)
	for i, text := range in {
		dep, err := ParseDep(text)
		if err != nil {
			p.add(item(list, i).Line, fmt.Sprintf("%s%s[%d]", prefix, key, i), ErrInvalid, "%v", err)
			continue
		}
		*out = append(*out, dep)
	}
}
