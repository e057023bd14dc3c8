package repo

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/acn-project/acn/internal/readlimit"
)

// Limits on a comps file. Real ones are far below them (Fedora's, the
// largest in use, is about 2 MiB, 4 elements deep); they bound what a
// hostile file costs to check: its size, its depth, its number of tokens,
// and the attributes of one element (each costs the XML decoder memory
// before it returns the element).
const (
	MaxGroupFileSize = 16 << 20
	maxGroupDepth    = 16
	maxGroupTokens   = 1 << 22
	maxGroupAttrs    = 64
)

// ErrGroups is wrapped by every fault found in a comps (group) file.
var ErrGroups = errors.New("repo: not a valid comps file")

// GroupError is a fault in a comps file: the file as named by whoever
// gave it, the line (0 when the fault is the file as a whole) and what is
// wrong. It wraps [ErrGroups].
type GroupError struct {
	File string
	Line int
	Msg  string
}

func (e *GroupError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s line %d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// Unwrap returns ErrGroups.
func (e *GroupError) Unwrap() error { return ErrGroups }

// Comps is what a comps file defines, as far as acn checks it.
type Comps struct {
	Groups       []Group
	Categories   []string // ids
	Environments []string // ids
}

// Group is one <group> of a comps file.
type Group struct {
	ID       string
	Name     string // the untranslated name
	Packages []GroupPackage
}

// GroupPackage is one <packagereq>: a package name and its type
// (mandatory, default, optional or conditional).
type GroupPackage struct {
	Name string
	Type string
}

// packageReqTypes are the types libcomps (dnf) knows; no type means
// mandatory.
var packageReqTypes = map[string]bool{"": true, "mandatory": true, "default": true, "optional": true, "conditional": true}

// ReadGroupFile reads and checks the comps file name, refusing one over
// MaxGroupFileSize before reading it.
func ReadGroupFile(name string) ([]byte, *Comps, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	data, err := readlimit.File(f, MaxGroupFileSize)
	if err != nil {
		return nil, nil, groupLimitError(name, err)
	}
	c, err := ParseGroups(name, data)
	if err != nil {
		return nil, nil, err
	}
	return data, c, nil
}

// ReadGroupFileFS reads the comps file name from fsys (a spec
// repository's tree), checked before it is opened as [ReadGroupFile]
// checks a local one; it is parsed by [ParseGroups].
func ReadGroupFileFS(fsys fs.FS, name string) ([]byte, error) {
	data, err := readlimit.FS(fsys, name, MaxGroupFileSize)
	return data, groupLimitError(name, err)
}

// groupLimitError is a readlimit error as a GroupError.
func groupLimitError(name string, err error) error {
	var tl *readlimit.TooLargeError
	switch {
	case errors.Is(err, readlimit.ErrNotRegular):
		return &GroupError{File: name, Msg: "not a regular file"}
	case errors.As(err, &tl):
		return tooLargeGroups(name, tl.Size)
	}
	return err
}

func tooLargeGroups(name string, size int64) error {
	return &GroupError{File: name, Msg: fmt.Sprintf("%d bytes, more than the %d a comps file may have", size, MaxGroupFileSize)}
}

// ParseGroups checks that data is a comps file that dnf and yum read as
// one: well-formed UTF-8 XML whose root is <comps>, every group, category
// and environment with an id (unique among its kind), every packagereq
// naming a package with a known type. name is only used in errors.
//
// Clients parse the file acn publishes with libxml2 or expat, which
// expand entities: a DOCTYPE with an internal subset (where entities are
// declared, as in "billion laughs") is refused, and so is one that points
// at a DTD anywhere but next to the file. Size, depth and token count are
// bounded (see [MaxGroupFileSize]), so that checking a hostile file costs
// little time and memory.
func ParseGroups(name string, data []byte) (*Comps, error) {
	fail := func(line int, format string, args ...any) error {
		return &GroupError{File: name, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	if len(data) > MaxGroupFileSize {
		return nil, tooLargeGroups(name, int64(len(data)))
	}
	if line, ok := attrsBounded(data); !ok {
		return nil, fail(line, "an element with more than %d attributes", maxGroupAttrs)
	}
	// A byte order mark is allowed (libxml2 and expat skip it); Go's
	// decoder would take it for text.
	dec := xml.NewDecoder(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	dec.Strict = true
	line := func() int { l, _ := dec.InputPos(); return l }

	var (
		c       Comps
		stack   []string
		text    strings.Builder
		seenDoc bool
		rootEnd bool
		tokens  int
		// What the element being read belongs to.
		kind     string // group, category or environment
		id       string
		idLine   int
		grp      *Group
		reqType  string
		langName bool // a translated <name xml:lang="...">
		ids      = map[string]map[string]int{"group": {}, "category": {}, "environment": {}}
	)
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, fail(se.Line, "%s", se.Msg)
			}
			return nil, fail(line(), "%v", err)
		}
		if tokens++; tokens > maxGroupTokens {
			return nil, fail(line(), "more than %d XML tokens", maxGroupTokens)
		}
		switch t := tok.(type) {
		case xml.ProcInst:
			if t.Target == "xml" {
				if enc := procInstParam(string(t.Inst), "encoding"); enc != "" && !strings.EqualFold(enc, "utf-8") {
					return nil, fail(line(), "encoding %q: only UTF-8 is accepted", enc)
				}
			}
		case xml.Directive:
			if len(stack) > 0 || rootEnd || seenDoc {
				return nil, fail(line(), "<!%.40s>: only one DOCTYPE, before the root element, is accepted", t)
			}
			if err := checkDoctype(string(t)); err != "" {
				return nil, fail(line(), "%s", err)
			}
			seenDoc = true
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) > 0 {
					return nil, fail(line(), "text outside the root element")
				}
				continue
			}
			if text.Len()+len(t) <= 64<<10 {
				text.Write(t)
			}
		case xml.StartElement:
			if rootEnd {
				return nil, fail(line(), "<%s> after the root element", t.Name.Local)
			}
			if len(stack) >= maxGroupDepth {
				return nil, fail(line(), "elements nested more than %d deep", maxGroupDepth)
			}
			if len(stack) == 0 && (t.Name.Local != "comps" || t.Name.Space != "") {
				return nil, fail(line(), "the root element is <%s>, not <comps>", xmlName(t.Name))
			}
			stack = append(stack, xmlName(t.Name))
			text.Reset()
			switch {
			case len(stack) == 2 && ids[t.Name.Local] != nil && t.Name.Space == "":
				kind, id, idLine = t.Name.Local, "", line()
				if kind == "group" {
					c.Groups = append(c.Groups, Group{})
					grp = &c.Groups[len(c.Groups)-1]
				}
			case len(stack) == 3 && grp != nil && t.Name.Local == "name":
				langName = false
				for _, a := range t.Attr {
					if a.Name.Local == "lang" {
						langName = true
					}
				}
			case grp != nil && t.Name.Local == "packagereq":
				reqType = ""
				for _, a := range t.Attr {
					if a.Name.Local == "type" {
						reqType = a.Value
					}
				}
				if !packageReqTypes[reqType] {
					return nil, fail(line(), "packagereq type %q: want mandatory, default, optional or conditional", reqType)
				}
			}
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, fail(line(), "</%s> closes no element", xmlName(t.Name))
			}
			open := stack[len(stack)-1]
			if open != xmlName(t.Name) {
				return nil, fail(line(), "</%s> closes <%s>", xmlName(t.Name), open)
			}
			stack = stack[:len(stack)-1]
			value := strings.TrimSpace(text.String())
			text.Reset()
			switch {
			case len(stack) == 0:
				rootEnd = true
			case len(stack) == 1 && kind != "":
				if id == "" {
					return nil, fail(idLine, "a %s without an <id>", kind)
				}
				if prev, dup := ids[kind][id]; dup {
					return nil, fail(idLine, "%s id %q is also defined on line %d", kind, id, prev)
				}
				ids[kind][id] = idLine
				switch kind {
				case "category":
					c.Categories = append(c.Categories, id)
				case "environment":
					c.Environments = append(c.Environments, id)
				}
				kind, grp = "", nil
			case len(stack) == 2 && kind != "" && open == "id":
				if value == "" {
					return nil, fail(line(), "an empty %s <id>", kind)
				}
				if id != "" {
					return nil, fail(line(), "a %s with two <id>s", kind)
				}
				id = value
				if grp != nil {
					grp.ID = id
				}
			case len(stack) == 2 && grp != nil && open == "name" && !langName:
				grp.Name = value
			case grp != nil && open == "packagereq":
				if value == "" {
					return nil, fail(line(), "a packagereq without a package name")
				}
				grp.Packages = append(grp.Packages, GroupPackage{Name: value, Type: reqType})
			}
		}
	}
	if !rootEnd {
		if len(stack) > 0 {
			return nil, fail(line(), "the file ends inside <%s>", stack[len(stack)-1])
		}
		return nil, fail(0, "no <comps> element")
	}
	return &c, nil
}

func xmlName(n xml.Name) string {
	if n.Space != "" {
		return n.Space + ":" + n.Local
	}
	return n.Local
}

// procInstParam reads one pseudo-attribute of <?xml ...?>.
func procInstParam(s, param string) string {
	i := strings.Index(s, param)
	if i < 0 {
		return ""
	}
	s = strings.TrimSpace(s[i+len(param):])
	s, ok := strings.CutPrefix(s, "=")
	if !ok {
		return ""
	}
	s = strings.TrimSpace(s)
	if s == "" || (s[0] != '\'' && s[0] != '"') {
		return ""
	}
	v, _, ok := strings.Cut(s[1:], s[:1])
	if !ok {
		return ""
	}
	return v
}

// dtdName is a DTD next to the comps file, such as comps.dtd.
var dtdName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// checkDoctype accepts <!DOCTYPE comps>, with a public and system id as
// Fedora's comps files have, or a system id alone, naming a DTD next to
// the file; it returns what is wrong otherwise.
func checkDoctype(d string) string {
	rest, ok := strings.CutPrefix(d, "DOCTYPE")
	if !ok || rest == "" || !isXMLSpace(rest[0]) {
		return fmt.Sprintf("<!%.40s>: only a DOCTYPE is accepted (entity declarations are not)", d)
	}
	if strings.ContainsAny(rest, "[]") {
		return "a DOCTYPE with an internal subset (entity declarations) is not accepted"
	}
	f, ok := doctypeFields(rest)
	if !ok {
		return "a DOCTYPE that does not parse"
	}
	if len(f) == 0 || f[0] != "comps" {
		return "the DOCTYPE is not comps"
	}
	var sys string
	switch {
	case len(f) == 1:
	case len(f) == 3 && f[1] == "SYSTEM":
		sys = f[2]
	case len(f) == 4 && f[1] == "PUBLIC":
		sys = f[3]
	default:
		return "a DOCTYPE that does not parse"
	}
	if sys != "" && !dtdName.MatchString(sys) {
		return fmt.Sprintf("DOCTYPE system id %q: only a file name next to the comps file (such as comps.dtd) is accepted", sys)
	}
	return ""
}

// doctypeFields splits a DOCTYPE's words, quoted strings as one field
// without their quotes.
func doctypeFields(s string) ([]string, bool) {
	var out []string
	for {
		s = strings.TrimLeft(s, " \t\r\n")
		if s == "" {
			return out, true
		}
		if q := s[0]; q == '"' || q == '\'' {
			v, after, ok := strings.Cut(s[1:], s[:1])
			if !ok {
				return nil, false
			}
			out = append(out, v)
			s = after
			continue
		}
		i := strings.IndexAny(s, " \t\r\n\"'")
		if i < 0 {
			i = len(s)
		}
		out = append(out, s[:i])
		s = s[i:]
	}
}

func isXMLSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\r' || b == '\n' }

// attrsBounded reports whether no tag of data has more than maxGroupAttrs
// attributes, and the line of the first that has. It counts '=' outside
// quotes between '<' and '>' in markup (comments, CDATA and DOCTYPEs are
// skipped): an over-estimate is harmless, as real comps elements have one
// or two attributes.
func attrsBounded(data []byte) (int, bool) {
	line := 1
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '\n':
			line++
			continue
		case '<':
		default:
			continue
		}
		rest := data[i:]
		var end []byte
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			end = []byte("-->")
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			end = []byte("]]>")
		case bytes.HasPrefix(rest, []byte("<!")), bytes.HasPrefix(rest, []byte("<?")):
			end = []byte(">")
		}
		if end != nil {
			j := bytes.Index(rest, end)
			if j < 0 {
				return 0, true // the decoder reports it
			}
			line += bytes.Count(rest[:j], []byte("\n"))
			i += j + len(end) - 1
			continue
		}
		start := line
		n := 0
		var quote byte
		j := 1
		for ; j < len(rest); j++ {
			b := rest[j]
			if b == '\n' {
				line++
			}
			if quote != 0 {
				if b == quote {
					quote = 0
				}
				continue
			}
			if b == '"' || b == '\'' {
				quote = b
			} else if b == '=' {
				if n++; n > maxGroupAttrs {
					return start, false
				}
			} else if b == '>' {
				break
			}
		}
		i += j
	}
	return 0, true
}

// groupFileName is the name a comps file is published under, after its
// checksum: the name it was given, as createrepo_c keeps it, when that is
// a plain file name, else comps.xml.
func groupFileName(name string) string {
	base := filepath.Base(name)
	if !dtdName.MatchString(base) {
		return "comps.xml"
	}
	return base
}

// loadGroups reads and checks o.GroupFile, once, before anything is
// written.
func (o *Options) loadGroups() error {
	if o.GroupFile == "" {
		o.groups = nil
		return nil
	}
	data, _, err := ReadGroupFile(o.GroupFile)
	if err != nil {
		return fmt.Errorf("group file: %w", err)
	}
	o.groups = data
	return nil
}

// writeGroups writes the comps file as createrepo_c does: as it is,
// record "group" (no open checksum or size), and compressed with the
// repository's compression, record "group_gz" (group_xz, group_zst), whose
// open checksum is the first's checksum. It appends both records to md;
// content old already names is not written again (see writeRecord).
func writeGroups(ctx context.Context, rd string, md, old *Repomd, o *Options, now int64) error {
	if o.groups == nil {
		return nil
	}
	base := groupFileName(o.GroupFile)
	body := func() io.Reader { return bytes.NewReader(o.groups) }
	plain, _, err := writeRecord(ctx, rd, "group", base, "", body, old, o, now)
	if err != nil {
		return fmt.Errorf("write the group file: %w", err)
	}
	comp, _, err := writeRecord(ctx, rd, "group"+strings.ReplaceAll(suffix(o.Compress), ".", "_"), base, o.Compress, body, old, o, now)
	if err != nil {
		return fmt.Errorf("write the group file: %w", err)
	}
	md.Data = append(md.Data, plain, comp)
	return nil
}
