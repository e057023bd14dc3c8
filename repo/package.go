package repo

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/cavaliergopher/rpm"

	"github.com/acn-project/acn/internal/advisory"
	"github.com/acn-project/acn/internal/rpmtag"
	"github.com/acn-project/acn/internal/rpmver"
)

// ErrCorrupt is wrapped when a file is not a readable RPM package.
var ErrCorrupt = errors.New("repo: not a valid rpm package")

// Package is what the repository metadata says about one RPM file.
type Package struct {
	Location string // path relative to the repository root, slash separated
	PkgID    string // checksum of the whole file
	Name     string
	Arch     string
	Epoch    string // "0" when the header has none
	Version  string
	Release  string

	Summary, Description, Packager, URL string
	License, Vendor, Group, BuildHost   string
	SourceRPM                           string

	FileTime, BuildTime                         int64
	PackageSize, InstalledSize, ArchiveSize     int64
	HeaderStart, HeaderEnd                      int64
	Provides, Requires, Conflicts, Obsoletes    []Dep
	Suggests, Enhances, Recommends, Supplements []Dep
	Files                                       []File
	Changelogs                                  []Changelog
	// Advisory is what acn's advisory tags say (updateinfo.go); nil
	// without them.
	Advisory *advisory.Advisory
}

// NEVRA is name-[epoch:]version-release.arch, the identity of a package.
func (p *Package) NEVRA() string { return rpmver.NEVRA(p.Name, p.Epoch, p.Version, p.Release, p.Arch) }

// Dep is one dependency entry as repodata writes it.
type Dep struct {
	Name    string
	Flags   string // "", EQ, LT, LE, GT, GE
	Epoch   string
	Version string
	Release string
	Pre     bool
}

// File is one path the package owns.
type File struct {
	Path string
	Type string // "", "dir" or "ghost"

	primary bool // listed in primary.xml too (decided on the header's bytes)
	dirLen  int  // length of the directory part, as the header stores it
}

// Changelog is one changelog entry.
type Changelog struct {
	Author string
	Date   int64
	Text   string
}

// tagHeaderImmutable is the main header's immutable region, which every
// header since rpm 4 has and a v3 header has not.
const tagHeaderImmutable = 63

// Limits on one header structure, as the rpm library enforces them.
const maxHeaderBytes = 32 << 20

// checkHeaders walks the signature and main header index structures with
// small reads and refuses one whose entries claim more data than the
// header holds. The rpm library allocates what an entry claims before it
// checks it, so a crafted file could otherwise make the process allocate
// gigabytes and die; this keeps a bad file a reported error.
func checkHeaders(f io.ReaderAt, size int64) error {
	off := int64(96)
	for h := range 2 {
		var intro [16]byte
		if _, err := f.ReadAt(intro[:], off); err != nil {
			return fmt.Errorf("%w: truncated before header %d", ErrCorrupt, h)
		}
		if !bytes.Equal(intro[:4], []byte{0x8e, 0xad, 0xe8, 0x01}) {
			return fmt.Errorf("%w: bad header magic", ErrCorrupt)
		}
		n := int64(binary.BigEndian.Uint32(intro[8:12]))
		store := int64(binary.BigEndian.Uint32(intro[12:16]))
		if n*16 > maxHeaderBytes || store > maxHeaderBytes {
			return fmt.Errorf("%w: header of %d entries and %d bytes is too large", ErrCorrupt, n, store)
		}
		end := off + 16 + n*16 + store
		if end > size {
			return fmt.Errorf("%w: truncated (header ends at byte %d of %d)", ErrCorrupt, end, size)
		}
		index := make([]byte, n*16)
		if _, err := f.ReadAt(index, off+16); err != nil {
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		for i := int64(0); i < n; i++ {
			e := index[i*16:]
			typ := binary.BigEndian.Uint32(e[4:8])
			o := int64(binary.BigEndian.Uint32(e[8:12]))
			count := int64(binary.BigEndian.Uint32(e[12:16]))
			width := int64(1) // char, int8, bin, and at least a NUL per string
			switch typ {
			case 3:
				width = 2
			case 4:
				width = 4
			case 5:
				width = 8
			}
			if typ != 0 && (o > store || count > (store-o)/width) {
				return fmt.Errorf("%w: header entry %d claims %d values past its end", ErrCorrupt, i, count)
			}
		}
		off = end
		if h == 0 {
			off += (8 - store%8) % 8
		}
	}
	return nil
}

// peekAt reads from the start of a file already in memory (b), and from
// the file beyond it.
type peekAt struct {
	b []byte
	f io.ReaderAt
}

func (p peekAt) ReadAt(b []byte, off int64) (int, error) {
	if off >= 0 && off+int64(len(b)) <= int64(len(p.b)) {
		return copy(b, p.b[off:]), nil
	}
	return p.f.ReadAt(b, off)
}

// fullReader makes every Read fill its buffer (or fail): the rpm library
// reads fixed-size structures with a single Read, which a stream may
// answer in part.
type fullReader struct{ r io.Reader }

func (f fullReader) Read(p []byte) (int, error) { return io.ReadFull(f.r, p) }

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// payloadCheck prepares the integrity check of a package whose headers
// were read from br, which has read n bytes of f: it takes the main
// header's bytes and feeds it the part of the payload already in br.
func payloadCheck(f io.ReaderAt, br *bufio.Reader, n int64, pkg *rpm.Package) (*integrity, error) {
	start, end := pkg.HeaderRange()
	if start < 0 || end < start || int64(end-start) > 2*maxHeaderBytes {
		return nil, fmt.Errorf("%w: bad header range", ErrCorrupt)
	}
	header := make([]byte, end-start)
	if _, err := f.ReadAt(header, int64(start)); err != nil {
		return nil, fmt.Errorf("%w: truncated header: %v", ErrCorrupt, err)
	}
	integ, err := newIntegrity(pkg, header)
	if err != nil {
		return nil, err
	}
	buffered := int64(br.Buffered())
	consumed := n - buffered
	switch d := int64(end) - consumed; {
	case d >= 0 && d <= buffered:
		b, _ := br.Peek(int(buffered))
		integ.Write(b[d:])
	case d < 0 && -d <= 1<<20: // read past the header: take that part again
		b := make([]byte, -d)
		if _, err := f.ReadAt(b, int64(end)); err != nil {
			return nil, err
		}
		integ.Write(b)
		b, _ = br.Peek(int(buffered))
		integ.Write(b)
	default:
		return nil, fmt.Errorf("%w: header ends at byte %d, read up to %d", ErrCorrupt, end, consumed)
	}
	return integ, nil
}

type readBuf struct {
	br  *bufio.Reader
	big []byte
}

var readBufs = sync.Pool{New: func() any {
	return &readBuf{br: bufio.NewReaderSize(nil, 64<<10), big: make([]byte, 1<<20)}
}}

// onlyReader hides the file's WriterTo, so that CopyBuffer uses our buffer.
type onlyReader struct{ io.Reader }

// newHash returns the hash for a checksum type name.
func newHash(kind string) (hash.Hash, error) {
	switch kind {
	case "sha256":
		return sha256.New(), nil
	case "sha512":
		return sha512.New(), nil
	case "sha1", "sha":
		return sha1.New(), nil
	}
	return nil, fmt.Errorf("unknown checksum type %q (want sha256, sha512 or sha1)", kind)
}

// readPackage reads one RPM file: its header for the metadata, and every
// byte once for the checksum.
func readPackage(path, location, checksum string, changelogLimit int) (p *Package, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	h, err := newHash(checksum)
	if err != nil {
		return nil, err
	}
	bufs := readBufs.Get().(*readBuf)
	defer readBufs.Put(bufs)
	// Header reads go through a small buffer whose every byte is hashed
	// as it is filled; the rest of the file is then hashed straight from
	// the file, in large reads. (Mapping the file measured slower.)
	br := bufs.br
	var read countReader
	read.r = f
	br.Reset(io.TeeReader(&read, h))
	defer br.Reset(nil)
	// The headers are checked in that buffer (it holds them whole in most
	// packages), without reads of their own.
	head, _ := br.Peek(br.Size())
	if err := checkHeaders(peekAt{head, f}, fi.Size()); err != nil {
		return nil, err
	}
	defer func() {
		// The rpm library indexes header data it has not checked; a
		// crafted header must be a reported error, not a crash.
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("%w: malformed header (%v)", ErrCorrupt, r)
		}
	}()
	pkg, err := rpm.Read(fullReader{br})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	integ, err := payloadCheck(f, br, read.n, pkg)
	if err != nil {
		return nil, err
	}
	if _, err := io.CopyBuffer(io.MultiWriter(h, integ), onlyReader{f}, bufs.big); err != nil {
		return nil, err
	}
	if err := integ.check(); err != nil {
		return nil, err
	}
	if p, err = fromHeader(pkg, changelogLimit); err != nil {
		return nil, err
	}
	if p.Name == "" || p.Version == "" {
		return nil, fmt.Errorf("%w: header has no name or version", ErrCorrupt)
	}
	p.Location = location
	if err := p.checkText(); err != nil {
		return nil, err
	}
	p.toUTF8()
	p.PkgID = hex.EncodeToString(h.Sum(nil))
	p.FileTime = fi.ModTime().Unix()
	p.PackageSize = fi.Size()
	start, end := pkg.HeaderRange()
	p.HeaderStart, p.HeaderEnd = int64(start), int64(end)
	if p.HeaderEnd > p.PackageSize {
		return nil, fmt.Errorf("%w: truncated (header ends at byte %d of %d)", ErrCorrupt, p.HeaderEnd, p.PackageSize)
	}
	return p, nil
}

// readRawFiles reads only the headers of an RPM file and returns its
// files with their paths as the header has them (not converted).
func readRawFiles(path string) (files []File, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := checkHeaders(f, fi.Size()); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			files, err = nil, fmt.Errorf("%w: malformed header (%v)", ErrCorrupt, r)
		}
	}()
	pkg, err := rpm.Read(fullReader{bufio.NewReaderSize(f, 64<<10)})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return retrofit(&pkg.Header).files(), nil
}

// str reads a string tag; text that is not UTF-8 is taken as Latin-1, as
// createrepo_c does.
func str(h *rpm.Header, tag int) string { return utf8OrLatin1(h.GetTag(tag).String()) }

// utf8OrLatin1 is createrepo_c's cr_latin1_to_utf8, applied as it applies
// it to every string it writes (XML text and attributes, sqlite columns):
// a string libxml2 takes as UTF-8 stays as it is; any other is converted
// whole from Latin-1, dropping C0 controls but tab, newline and carriage
// return, and the C1 controls (0x80-0x9F, and 0xA0-0xBF with them, as
// createrepo_c does).
func utf8OrLatin1(s string) string {
	if libxmlUTF8(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + len(s)/2)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r':
		case c < 0x80:
			b.WriteByte(c)
		case c >= 0xC0:
			b.WriteRune(rune(c))
		}
	}
	return b.String()
}

// libxmlUTF8 is libxml2's xmlCheckUTF8: the lead bytes and the number of
// continuation bytes are checked, not overlong forms or surrogates. It
// decides, as in createrepo_c, whether a string is converted from Latin-1.
func libxmlUTF8(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		n := 0
		switch {
		case c < 0x80:
			i++
			continue
		case c&0xE0 == 0xC0:
			n = 1
		case c&0xF0 == 0xE0:
			n = 2
		case c&0xF8 == 0xF0:
			n = 3
		default:
			return false
		}
		if i+n >= len(s) {
			return false
		}
		for j := 1; j <= n; j++ {
			if s[i+j]&0xC0 != 0x80 {
				return false
			}
		}
		i += n + 1
	}
	return true
}

// checkText refuses a package whose text holds control characters XML
// cannot carry; createrepo_c leaves such a package out too. It looks at
// the header's bytes, before any conversion, as createrepo_c does.
func (p *Package) checkText() error {
	bad := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return true
			}
		}
		return false
	}
	fields := []string{p.Name, p.Arch, p.Epoch, p.Version, p.Release, p.Summary, p.Description, p.Packager,
		p.URL, p.License, p.Vendor, p.Group, p.BuildHost, p.SourceRPM, p.Location}
	for _, list := range [][]Dep{p.Provides, p.Requires, p.Conflicts, p.Obsoletes, p.Suggests, p.Enhances, p.Recommends, p.Supplements} {
		for _, d := range list {
			fields = append(fields, d.Name, d.Epoch, d.Version, d.Release)
		}
	}
	for _, f := range p.Files {
		fields = append(fields, f.Path)
	}
	for _, c := range p.Changelogs {
		fields = append(fields, c.Author, c.Text)
	}
	for _, s := range fields {
		if bad(s) {
			return fmt.Errorf("%w: a header string holds control characters (%q)", ErrCorrupt, s)
		}
	}
	return nil
}

// toUTF8 converts every string of the package that repodata carries as
// createrepo_c does, each on its own (utf8OrLatin1). Location is left as
// the file's name; the writers convert it.
func (p *Package) toUTF8() {
	for _, s := range []*string{&p.Name, &p.Arch, &p.Epoch, &p.Version, &p.Release, &p.Summary, &p.Description,
		&p.Packager, &p.URL, &p.License, &p.Vendor, &p.Group, &p.BuildHost, &p.SourceRPM} {
		*s = utf8OrLatin1(*s)
	}
	for _, list := range [][]Dep{p.Provides, p.Requires, p.Conflicts, p.Obsoletes, p.Suggests, p.Enhances, p.Recommends, p.Supplements} {
		for i := range list {
			d := &list[i]
			d.Name, d.Epoch, d.Version, d.Release = utf8OrLatin1(d.Name), utf8OrLatin1(d.Epoch), utf8OrLatin1(d.Version), utf8OrLatin1(d.Release)
		}
	}
	for i := range p.Files {
		f := &p.Files[i]
		f.primary = primaryFile(f.Path) // on the header's bytes, as createrepo_c decides it
		f.Path = utf8OrLatin1(f.Path)
	}
	for i := range p.Changelogs {
		c := &p.Changelogs[i]
		c.Author, c.Text = utf8OrLatin1(c.Author), utf8OrLatin1(c.Text)
	}
}

// num reads a number tag as rpm's headerGetNumber does: the first value
// of any integer type, 0 for anything else.
func num(t *rpm.Tag) int64 {
	if t == nil {
		return 0
	}
	switch t.Type {
	case rpm.TagTypeChar, rpm.TagTypeInt8:
		if b := t.Bytes(); len(b) > 0 {
			return int64(b[0])
		}
		return 0
	}
	return t.Int64()
}

// Tags of the main header that rpm's reader fills from the signature
// header (lib/package.c, xlateTags): the signature tag, the main header
// tag, the count it must have (0: any), and whether the main header may
// hold it when the signature header does not.
var sigTags = []struct {
	sig, main int
	typ       rpm.TagType
	count     int
	quirk     bool
}{
	{1000, 257, rpm.TagTypeInt32, 1, false},                      // size
	{1002, 259, rpm.TagTypeBinary, 0, false},                     // PGP
	{1004, 261, rpm.TagTypeBinary, 16, false},                    // MD5
	{1005, 262, rpm.TagTypeBinary, 0, false},                     // GPG
	{1007, 1046, rpm.TagTypeInt32, 1, true},                      // payload size: ARCHIVESIZE
	{274, 5090, rpm.TagTypeStringArray, 0, true},                 // file signatures
	{275, 5091, rpm.TagTypeInt32, 1, true},                       // file signature length
	{276, 276, rpm.TagTypeStringArray, 0, false},                 // verity signatures
	{277, 277, rpm.TagTypeInt32, 1, false},                       // verity algorithm
	{269, 269, rpm.TagTypeString, 1, false},                      // SHA-1
	{273, 273, rpm.TagTypeString, 1, false},                      // SHA-256
	{267, 267, rpm.TagTypeBinary, 0, false},                      // DSA
	{268, 268, rpm.TagTypeBinary, 0, false},                      // RSA
	{270, 270, rpm.TagTypeInt64, 1, false},                       // long size
	{rpmtag.SigLongArchiveSize, 271, rpm.TagTypeInt64, 1, false}, // long archive size
}

// archiveSize is the payload size as rpm reads it (headerMergeLegacySigs,
// then the LONGARCHIVESIZE extension): the signature header's tags go to
// the main header, which must not hold them already; the 64-bit size
// wins over the 32-bit one. An error is a package rpm does not read.
func archiveSize(pkg *rpm.Package) (int64, error) {
	h, sig := &pkg.Header, &pkg.Signature
	for _, x := range sigTags {
		if h.GetTag(x.main) != nil && (!x.quirk || sig.GetTag(x.sig) != nil) {
			return 0, fmt.Errorf("%w: invalid signature tag %d in the main header", ErrCorrupt, x.main)
		}
	}
	merged := map[int]*rpm.Tag{}
	for _, x := range sigTags {
		t := sig.GetTag(x.sig)
		if t == nil {
			continue
		}
		n := tagCount(t)
		if t.Type != x.typ || n < 1 || n > 16<<20 || (x.count != 0 && n != x.count) {
			break // rpm stops merging there, without an error
		}
		merged[x.main] = t
	}
	get := func(tag int) *rpm.Tag {
		if t := h.GetTag(tag); t != nil {
			return t
		}
		return merged[tag]
	}
	if t := get(271); t != nil {
		return num(t), nil
	}
	if t := get(1046); t != nil {
		return int64(uint32(num(t))), nil
	}
	return 0, nil
}

// tagCount is the number of values a tag holds.
func tagCount(t *rpm.Tag) int {
	switch v := t.Value.(type) {
	case []string:
		return len(v)
	case []int64:
		return len(v)
	case []byte:
		return len(v)
	}
	return 0
}

// header is the part of a main header that rpm's reader may change
// (applyRetrofits): the file list, compressed when it was stored whole,
// the source RPM, the source flag and the provides.
type header struct {
	h                         *rpm.Header
	dirs, bases               []string
	dirsOK                    bool // DIRNAMES holds a string array
	dirIdx                    []int64
	hasDirIdx, hasBases       bool
	sourceRPM                 *string
	source                    int64
	provNames, provVers       []string
	provFlags                 []int64
	hasProvVers, hasProvFlags bool
	hasProvNames              bool
}

// retrofit reads a main header as rpm's reader hands it to createrepo_c
// (lib/package.c applyRetrofits, lib/headerutil.c legacyRetrofit):
//   - a file list stored whole (OLDFILENAMES, v3 and --nodirtokens
//     packages) is split into directories and base names;
//   - a header with neither SOURCERPM nor SOURCEPACKAGE is taken as a
//     source package when all its files are in one unnamed directory,
//     else it gets SOURCERPM "(none)";
//   - a v3 header (no immutable region) of a binary package provides its
//     own name = [epoch:]version-release (again, if it already does).
func retrofit(h *rpm.Header) *header {
	r := &header{h: h}
	if t := h.GetTag(rpmtag.Dirnames); t != nil {
		r.dirs, r.dirsOK = t.StringSlice(), t.Type == rpm.TagTypeStringArray
		r.bases, r.hasBases = h.GetTag(rpmtag.Basenames).StringSlice(), h.GetTag(rpmtag.Basenames) != nil
		r.dirIdx, r.hasDirIdx = h.GetTag(rpmtag.DirIndexes).Int64Slice(), h.GetTag(rpmtag.DirIndexes) != nil
	} else if old := h.GetTag(rpmtag.OldFilenames).StringSlice(); len(old) > 0 {
		r.compress(old)
	}
	if t := h.GetTag(rpmtag.SourceRPM); t != nil {
		s := t.String()
		r.sourceRPM = &s
	}
	sp := h.GetTag(rpmtag.SourcePackage)
	r.source = num(sp)
	if r.sourceRPM == nil && sp == nil {
		if r.dirsOK && len(r.dirs) == 1 && r.dirs[0] == "" {
			r.source = 1
		} else {
			none := "(none)"
			r.sourceRPM = &none
		}
	}
	if t := h.GetTag(rpmtag.ProvideName); t != nil {
		r.hasProvNames, r.provNames = true, t.StringSlice()
	}
	if t := h.GetTag(rpmtag.ProvideVersion); t != nil {
		r.hasProvVers, r.provVers = true, t.StringSlice()
	}
	if t := h.GetTag(rpmtag.ProvideFlags); t != nil {
		r.hasProvFlags, r.provFlags = true, t.Int64Slice()
	}
	if h.GetTag(tagHeaderImmutable) == nil && r.sourceRPM != nil {
		r.provideSelf()
	}
	return r
}

// compress is rpm's compressFilelist: each path splits after its last
// '/'; a list whose first path is relative (a source package's) goes
// whole into one directory named "".
func (r *header) compress(old []string) {
	r.dirsOK, r.hasBases, r.hasDirIdx = true, true, true
	r.bases = make([]string, len(old))
	r.dirIdx = make([]int64, len(old))
	if !strings.HasPrefix(old[0], "/") {
		r.dirs = []string{""}
		copy(r.bases, old)
		return
	}
	seen := map[string]int64{}
	for i, f := range old {
		j := strings.LastIndexByte(f, '/') + 1
		d := f[:j]
		k, ok := seen[d]
		if !ok {
			k = int64(len(r.dirs))
			seen[d] = k
			r.dirs = append(r.dirs, d)
		}
		r.dirIdx[i], r.bases[i] = k, f[j:]
	}
}

// provideSelf is rpm's providePackageNVR, as rpm 4.18 runs it.
func (r *header) provideSelf() {
	name := r.h.GetTag(rpmtag.Name)
	if name == nil || r.h.GetTag(rpmtag.Name).StringSlice() == nil {
		return
	}
	var evr string
	if t := r.h.GetTag(rpmtag.Epoch); t != nil {
		evr = fmt.Sprint(uint64(num(t))) + ":"
	}
	if t := r.h.GetTag(rpmtag.Version); t != nil && t.StringSlice() != nil {
		evr += t.String() + "-"
	}
	if t := r.h.GetTag(rpmtag.Release); t != nil && t.StringSlice() != nil {
		evr += t.String()
	}
	n := name.String()
	if r.hasProvNames && !r.hasProvVers {
		// Provides without versions (rpm < 3.0.3): each gets an empty
		// version and no flags, appended to what the header holds.
		for range r.provNames {
			r.provVers = append(r.provVers, "")
			r.provFlags = append(r.provFlags, 0)
		}
		r.hasProvVers, r.hasProvFlags = true, true
	}
	// rpm then looks for name = evr among the provides (rpmdsFind), but
	// never finds it: the dependency it looks for carries a trigger
	// index 0 and the header's have none (-1), so they never compare
	// equal. The provide is added even when the header has it.
	r.provNames = append(r.provNames, n)
	r.provVers = append(r.provVers, evr)
	r.provFlags = append(r.provFlags, rpmtag.SenseEqual)
	r.hasProvNames, r.hasProvVers, r.hasProvFlags = true, true, true
}

func fromHeader(pkg *rpm.Package, changelogLimit int) (*Package, error) {
	h := &pkg.Header
	raw := func(tag int) string { return h.GetTag(tag).String() }
	r := retrofit(h)
	p := &Package{
		Name: raw(rpmtag.Name), Version: raw(rpmtag.Version), Release: raw(rpmtag.Release),
		Arch: raw(rpmtag.Arch), Summary: raw(rpmtag.Summary), Description: raw(rpmtag.Description),
		Packager: raw(rpmtag.Packager), URL: raw(rpmtag.URL), License: raw(rpmtag.License),
		Vendor: raw(rpmtag.Vendor), Group: raw(rpmtag.Group), BuildHost: raw(rpmtag.BuildHost),
		Epoch:     fmt.Sprint(uint64(num(h.GetTag(rpmtag.Epoch)))),
		BuildTime: h.GetTag(rpmtag.BuildTime).Int64(),
	}
	if r.sourceRPM != nil {
		p.SourceRPM = *r.sourceRPM
	}
	if r.source != 0 {
		p.Arch = "src"
	}
	if t := h.GetTag(rpmtag.LongSize); t != nil {
		p.InstalledSize = t.Int64()
	} else {
		p.InstalledSize = h.GetTag(rpmtag.Size).Int64()
	}
	var err error
	if p.ArchiveSize, err = archiveSize(pkg); err != nil {
		return nil, err
	}
	p.Files = r.files()
	readDeps(r, p)
	p.Changelogs = changelogs(h, changelogLimit)
	p.Advisory = headerAdvisory(h)
	return p, nil
}

// changelogs returns the newest limit entries, oldest first, as
// createrepo_c writes them: trailing spaces cut from the author, and
// entries sharing a time with an older one moved a second later each
// (up to 2038: see below).
func changelogs(h *rpm.Header, limit int) []Changelog {
	times := h.GetTag(rpmtag.ChangelogTime).Int64Slice()
	names := h.GetTag(rpmtag.ChangelogName).StringSlice()
	texts := h.GetTag(rpmtag.ChangelogText).StringSlice()
	n := min(len(times), len(names), len(texts))
	if limit >= 0 { // negative: all
		n = min(n, limit)
	}
	out := make([]Changelog, n)
	var last int64
	for i := range n { // header order: newest first
		c := Changelog{Author: strings.TrimRight(names[i], " "), Date: times[i], Text: texts[i]}
		if len(names[i]) > 0 && c.Author == "" {
			c.Author = names[i][:1]
		}
		j := n - 1 - i
		out[j] = c
		if i > 0 && c.Date == last {
			// createrepo_c starts its count of the dates it moves from
			// the date put in a C int: past 2^31-1 (2038) that is
			// negative and matches no date, so the entries keep theirs
			// (the count itself, once started, goes past 2^31-1).
			t := int64(int32(c.Date))
			for k := j + 1; k < n && out[k].Date == t; k++ {
				out[k].Date++
				t++
			}
		} else {
			last = c.Date
		}
	}
	return out
}

// files lists the package's files as createrepo_c does: none unless the
// header's file list is whole and consistent (rpm's FILENAMES extension
// fails otherwise), as many as every one of names, flags and modes has;
// a directory is "dir" even when it is also a ghost.
func (r *header) files() []File {
	h := r.h
	flagsT, modesT := h.GetTag(rpmtag.FileFlags), h.GetTag(rpmtag.FileModes)
	if !r.hasBases || !r.hasDirIdx || flagsT == nil || modesT == nil {
		return nil
	}
	n := len(r.bases)
	if len(r.dirIdx) != n || len(r.dirs) < 1 || len(r.dirs) > n {
		return nil
	}
	for _, i := range r.dirIdx {
		if i < 0 || i >= int64(len(r.dirs)) {
			return nil
		}
	}
	flags, modes := flagsT.Int64Slice(), modesT.Int64Slice()
	n = min(n, len(flags), len(modes))
	out := make([]File, n)
	for i := range n {
		d := r.dirs[r.dirIdx[i]]
		out[i].Path, out[i].dirLen = d+r.bases[i], len(d)
		switch {
		case modes[i]&0o170000 == 0o040000:
			out[i].Type = "dir"
		case flags[i]&rpmtag.FileGhost != 0:
			out[i].Type = "ghost"
		}
	}
	return out
}
