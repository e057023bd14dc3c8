package specs

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/acn-project/acn/internal/readlimit"
)

// GroupsFile is where a spec repository defines its package groups (the
// groups of dnf group install): at its root, next to specs/.
const GroupsFile = "groups.yaml"

// MaxGroupsSize bounds a groups file, so that parsing one takes bounded
// time and memory whatever was pushed. The comps XML made from a file of
// this size stays far below the 16 MiB a comps file may have.
const MaxGroupsSize = 256 << 10

// GroupFile is one validated groups file: package groups and the
// categories that show them, in the order the file defines them. Its
// [GroupFile.Comps] is the comps XML that dnf and yum read.
type GroupFile struct {
	File       string // as named to the parser, e.g. groups.yaml
	Groups     []PackageGroup
	Categories []GroupCategory
}

// PackageGroup is one group of a groups file: a comps <group>.
type PackageGroup struct {
	ID          string // [A-Za-z0-9._-]+, unique in the file
	Name        string // one line
	Description string
	Default     bool // installed by default with the category or environment
	UserVisible bool // listed by dnf group list; default true
	Packages    GroupPackages
	Line        int
}

// GroupPackages are a group's packages by type, each list as written.
// dnf group install installs the mandatory and default ones, never the
// optional ones (without --with-optional), and a conditional one when the
// package it requires is installed too.
type GroupPackages struct {
	Mandatory   []string
	Default     []string
	Optional    []string
	Conditional []CondPackage
}

// CondPackage is a conditional package of a group: Name is installed with
// the group when Requires is installed.
type CondPackage struct {
	Name     string
	Requires string
}

// GroupCategory is one category of a groups file: a comps <category>,
// which lists groups under a heading.
type GroupCategory struct {
	ID          string
	Name        string
	Description string
	Groups      []string // ids of groups the file defines
	Line        int
}

type rawGroupFile struct {
	Groups     []rawGroup    `yaml:"groups"`
	Categories []rawCategory `yaml:"categories"`
}

type rawGroup struct {
	ID          string           `yaml:"id"`
	Name        string           `yaml:"name"`
	Description string           `yaml:"description"`
	Default     *bool            `yaml:"default"`
	UserVisible *bool            `yaml:"uservisible"`
	Packages    rawGroupPackages `yaml:"packages"`
}

type rawGroupPackages struct {
	Mandatory   []string          `yaml:"mandatory"`
	Default     []string          `yaml:"default"`
	Optional    []string          `yaml:"optional"`
	Conditional map[string]string `yaml:"conditional"`
}

type rawCategory struct {
	ID          string   `yaml:"id"`
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	Groups      []string `yaml:"groups"`
}

var typeRawGroupFile = reflect.TypeFor[rawGroupFile]()

// compsIDRE is what a group or category id may be: dnf takes it on its
// command line (dnf group install ID) and in environment files.
var compsIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// ParseGroups decodes and validates a groups file, as strictly as [Parse]
// a spec: unknown keys, missing required keys and bad values are [*Error]
// values naming file (only used in errors), line and field, all of them
// joined into the error returned. Group and category ids are unique, a
// category names only groups the file defines, a package is listed once
// in a group, and every text is one that XML can carry.
//
// ParseGroups takes time and memory linear in len(data), which must not
// exceed [MaxGroupsSize]; YAML aliases and merge keys are refused
// ([ErrAlias]).
func ParseGroups(file string, data []byte) (g *GroupFile, err error) {
	if len(data) > MaxGroupsSize {
		return nil, groupsTooLarge(file, int64(len(data)))
	}
	// As in Parse: a crafted file must not take the caller down.
	defer func() {
		if r := recover(); r != nil {
			g, err = nil, &Error{File: file, Err: &detail{sentinel: ErrSyntax, msg: fmt.Sprintf("YAML parser failed: %v", r)}}
		}
	}()
	var r rawGroupFile
	p, root, err := document{what: "groups file", typ: typeRawGroupFile, field: "groups", dupKeys: true}.decode(file, data, &r)
	if err != nil {
		return nil, err
	}
	g = p.groupFile(root, &r)
	if err := p.err(); err != nil {
		return nil, err
	}
	return g, nil
}

func groupsTooLarge(file string, size int64) error {
	return &Error{File: file, Err: &detail{sentinel: ErrInvalid,
		msg: fmt.Sprintf("%d bytes, more than the %d a groups file may have", size, MaxGroupsSize)}}
}

// groupFile validates the decoded file r (node root).
func (p *parser) groupFile(root *yaml.Node, r *rawGroupFile) *GroupFile {
	g := &GroupFile{File: p.file}
	groups := find(root, "groups")
	if len(r.Groups) == 0 {
		p.add(lineOf(root, "groups"), "groups", ErrMissingKey, "a groups file defines at least one group")
	}
	ids := map[string]int{}
	for i, rg := range r.Groups {
		n := item(groups, i)
		field := fmt.Sprintf("groups[%d]", i)
		grp := PackageGroup{
			ID:          p.compsID(n, field, "group", rg.ID, ids),
			Name:        p.compsText(n, field, "name", rg.Name, true),
			Description: p.compsText(n, field, "description", rg.Description, false),
			Default:     rg.Default != nil && *rg.Default,
			UserVisible: rg.UserVisible == nil || *rg.UserVisible,
			Line:        n.Line,
		}
		grp.Packages = p.groupPackages(n, field, &rg.Packages)
		g.Groups = append(g.Groups, grp)
	}
	cats := find(root, "categories")
	catIDs := map[string]int{}
	for i, rc := range r.Categories {
		n := item(cats, i)
		field := fmt.Sprintf("categories[%d]", i)
		c := GroupCategory{
			ID:          p.compsID(n, field, "category", rc.ID, catIDs),
			Name:        p.compsText(n, field, "name", rc.Name, true),
			Description: p.compsText(n, field, "description", rc.Description, false),
			Line:        n.Line,
		}
		list := find(n, "groups")
		if len(rc.Groups) == 0 {
			p.add(lineOf(n, "groups"), field+".groups", ErrMissingKey, "a category lists at least one group")
		}
		seen := map[string]int{}
		for j, id := range rc.Groups {
			id = strings.TrimSpace(id)
			line := item(list, j).Line
			f := fmt.Sprintf("%s.groups[%d]", field, j)
			switch _, defined := ids[id]; {
			case !defined:
				p.add(line, f, ErrInvalid, "%q is not the id of a group of this file", id)
			case seen[id] != 0:
				p.add(line, f, ErrInvalid, "%q is listed twice; first on line %d", id, seen[id])
			default:
				seen[id] = line
				c.Groups = append(c.Groups, id)
			}
		}
		g.Categories = append(g.Categories, c)
	}
	return g
}

// compsID checks the id of a group or category (field, node n) and records
// it in ids.
func (p *parser) compsID(n *yaml.Node, field, kind, id string, ids map[string]int) string {
	id = strings.TrimSpace(id)
	line := lineOf(n, "id")
	switch prev, dup := ids[id]; {
	case id == "":
		p.add(n.Line, field+".id", ErrMissingKey, "")
	case !compsIDRE.MatchString(id):
		p.add(line, field+".id", ErrInvalid, "%q: a %s id has letters, digits and ._- only", id, kind)
	case dup:
		p.add(line, field+".id", ErrInvalid, "%s id %q is also defined on line %d", kind, id, prev)
	default:
		ids[id] = line
	}
	return id
}

// compsText checks a name (one line, required) or description of field
// (node n): XML 1.0 cannot carry most control characters, not even
// escaped.
func (p *parser) compsText(n *yaml.Node, field, key, v string, required bool) string {
	v = strings.TrimSpace(v)
	switch {
	case v == "" && required:
		p.add(n.Line, field+"."+key, ErrMissingKey, "")
	case required && strings.ContainsAny(v, "\r\n"):
		p.add(lineOf(n, key), field+"."+key, ErrInvalid, "must be one line")
	default:
		if msg := xmlTextProblem(v); msg != "" {
			p.add(lineOf(n, key), field+"."+key, ErrInvalid, "%s", msg)
		}
	}
	return v
}

// xmlTextProblem says why s cannot be written as XML 1.0 text, or "".
func xmlTextProblem(s string) string {
	if !utf8.ValidString(s) {
		return "not valid UTF-8"
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0xFFFE || r == 0xFFFF {
			return fmt.Sprintf("character %U cannot be written in XML", r)
		}
	}
	return ""
}

// groupPackages checks the packages of group field (node n): package
// names, each listed once in the group.
func (p *parser) groupPackages(n *yaml.Node, field string, rp *rawGroupPackages) GroupPackages {
	var out GroupPackages
	pn := find(n, "packages")
	field += ".packages"
	seen := map[string]string{} // name: where it is listed
	check := func(f string, line int, name string) bool {
		switch where, dup := seen[name]; {
		case name == "":
			p.add(line, f, ErrInvalid, "empty package name")
		case !nameRE.MatchString(name):
			p.add(line, f, ErrInvalid, "%q is not a valid package name (letters, digits and ._+- only)", name)
		case dup:
			p.add(line, f, ErrInvalid, "package %q is already listed in %s", name, where)
		default:
			seen[name] = fmt.Sprintf("%s (line %d)", f, line)
			return true
		}
		return false
	}
	for _, l := range []struct {
		key string
		in  []string
		out *[]string
	}{
		{"mandatory", rp.Mandatory, &out.Mandatory},
		{"default", rp.Default, &out.Default},
		{"optional", rp.Optional, &out.Optional},
	} {
		list := find(pn, l.key)
		for i, name := range l.in {
			name = strings.TrimSpace(name)
			if check(fmt.Sprintf("%s.%s[%d]", field, l.key, i), item(list, i).Line, name) {
				*l.out = append(*l.out, name)
			}
		}
	}
	// The mapping's own order, not Go's map order: the same file gives
	// the same comps file.
	if cn := find(pn, "conditional"); cn != nil && cn.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(cn.Content); i += 2 {
			k, v := cn.Content[i], cn.Content[i+1]
			name, req := strings.TrimSpace(k.Value), ""
			if v.Tag != "!!null" {
				req = strings.TrimSpace(v.Value)
			}
			f := field + ".conditional." + k.Value
			ok := check(f, k.Line, name)
			switch {
			case req == "":
				p.add(v.Line, f, ErrMissingKey, "a conditional package names the package it comes with, as in python3-foo: python3")
				ok = false
			case !nameRE.MatchString(req):
				p.add(v.Line, f, ErrInvalid, "%q is not a valid package name (letters, digits and ._+- only)", req)
				ok = false
			}
			if ok {
				out.Conditional = append(out.Conditional, CondPackage{Name: name, Requires: req})
			}
		}
	}
	if len(seen) == 0 {
		line := n.Line
		if pn != nil {
			line = pn.Line
		}
		p.add(line, field, ErrMissingKey, "a group lists at least one package")
	}
	return out
}

// Comps returns the groups as a comps file, the XML that dnf, yum and
// zypper read: the same GroupFile always gives the same bytes, every
// text escaped, no entity declared.
func (g *GroupFile) Comps() []byte {
	var b bytes.Buffer
	b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
	b.WriteString("<!DOCTYPE comps PUBLIC \"-//Red Hat, Inc.//DTD Comps info//EN\" \"comps.dtd\">\n")
	b.WriteString("<comps>\n")
	for _, grp := range g.Groups {
		b.WriteString("  <group>\n")
		xmlElem(&b, "    ", "id", grp.ID)
		xmlElem(&b, "    ", "name", grp.Name)
		xmlElem(&b, "    ", "description", grp.Description)
		xmlElem(&b, "    ", "default", strconv.FormatBool(grp.Default))
		xmlElem(&b, "    ", "uservisible", strconv.FormatBool(grp.UserVisible))
		b.WriteString("    <packagelist>\n")
		for _, l := range []struct {
			kind  string
			names []string
		}{
			{"mandatory", grp.Packages.Mandatory},
			{"default", grp.Packages.Default},
			{"optional", grp.Packages.Optional},
		} {
			for _, name := range l.names {
				b.WriteString("      <packagereq type=\"" + l.kind + "\">")
				xmlEscape(&b, name)
				b.WriteString("</packagereq>\n")
			}
		}
		for _, c := range grp.Packages.Conditional {
			b.WriteString("      <packagereq type=\"conditional\" requires=\"")
			xmlEscape(&b, c.Requires)
			b.WriteString("\">")
			xmlEscape(&b, c.Name)
			b.WriteString("</packagereq>\n")
		}
		b.WriteString("    </packagelist>\n")
		b.WriteString("  </group>\n")
	}
	for _, c := range g.Categories {
		b.WriteString("  <category>\n")
		xmlElem(&b, "    ", "id", c.ID)
		xmlElem(&b, "    ", "name", c.Name)
		xmlElem(&b, "    ", "description", c.Description)
		b.WriteString("    <grouplist>\n")
		for _, id := range c.Groups {
			xmlElem(&b, "      ", "groupid", id)
		}
		b.WriteString("    </grouplist>\n")
		b.WriteString("  </category>\n")
	}
	b.WriteString("</comps>\n")
	return b.Bytes()
}

// xmlElem writes <name>text</name> on a line of its own; nothing for an
// empty description.
func xmlElem(b *bytes.Buffer, indent, name, text string) {
	if text == "" && name == "description" {
		return
	}
	b.WriteString(indent + "<" + name + ">")
	xmlEscape(b, text)
	b.WriteString("</" + name + ">\n")
}

// xmlEscape writes s escaped for XML text and attribute values alike:
// & < > " ' and tab, newline and carriage return as character
// references.
func xmlEscape(b *bytes.Buffer, s string) {
	_ = xml.EscapeText(b, []byte(s)) // a bytes.Buffer never fails
}

// Groups parses the snapshot's groups file ([GroupsFile]); nil, nil when
// the snapshot has none. A file over [MaxGroupsSize] is refused before it
// is read, and so is anything but a regular file, or a link that leaves
// the repository or leads nowhere.
func (s *Snapshot) Groups() (*GroupFile, error) {
	data, err := readGroupsFS(s.FS, GroupsFile)
	if err != nil {
		var ge *Error
		var pe *fs.PathError
		switch {
		case errors.As(err, &ge):
			return nil, err
		case errors.Is(err, fs.ErrNotExist):
			if _, lerr := fs.Lstat(s.FS, GroupsFile); lerr == nil {
				return nil, &Error{File: GroupsFile, Err: &detail{sentinel: ErrInvalid, msg: "a symbolic link to nothing"}}
			}
			return nil, nil
		case errors.Is(err, ErrEscapes) && errors.As(err, &pe):
			return nil, &Error{File: GroupsFile, Err: pe.Err}
		}
		return nil, fmt.Errorf("read %s at %s: %w", GroupsFile, s.Ref, err)
	}
	return ParseGroups(GroupsFile, data)
}

// ReadGroupsFile reads and parses a groups file on the local file system
// (acn index --groupfile), refusing one over [MaxGroupsSize] before
// reading it.
func ReadGroupsFile(name string) (*GroupFile, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := readlimit.File(f, MaxGroupsSize)
	if err != nil {
		return nil, limitError(name, err, groupsTooLarge)
	}
	return ParseGroups(name, data)
}

// readGroupsFS reads file from fsys as readSpec reads a spec: the size
// checked before the file is opened (the object store rebuilds a
// deltified blob in memory on open).
func readGroupsFS(fsys fs.FS, file string) ([]byte, error) {
	data, err := readlimit.FS(fsys, file, MaxGroupsSize)
	return data, limitError(file, err, groupsTooLarge)
}
