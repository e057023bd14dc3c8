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
	"unicode/utf8"

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
}

// Changelog is one changelog entry.
type Changelog struct {
	Author string
	Date   int64
	Text   string
}

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
	p = fromHeader(pkg, changelogLimit)
	if p.Name == "" || p.Version == "" {
		return nil, fmt.Errorf("%w: header has no name or version", ErrCorrupt)
	}
	if err := p.checkText(); err != nil {
		return nil, err
	}
	p.Location = location
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

// str reads a string tag; text that is not UTF-8 is taken as Latin-1, as
// createrepo_c does.
func str(h *rpm.Header, tag int) string { return utf8OrLatin1(h.GetTag(tag).String()) }

func utf8OrLatin1(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < 0x80:
			b.WriteByte(c)
		case c >= 0xC0: // 0x80-0xBF are C1 controls in Latin-1: dropped
			b.WriteRune(rune(c))
		}
	}
	return b.String()
}

// checkText refuses a package whose text holds control characters XML
// cannot carry; createrepo_c leaves such a package out too.
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
		p.URL, p.License, p.Vendor, p.Group, p.BuildHost, p.SourceRPM}
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

func fromHeader(pkg *rpm.Package, changelogLimit int) *Package {
	h := &pkg.Header
	p := &Package{
		Name: str(h, rpmtag.Name), Version: str(h, rpmtag.Version), Release: str(h, rpmtag.Release),
		Arch: str(h, rpmtag.Arch), Summary: str(h, rpmtag.Summary), Description: str(h, rpmtag.Description),
		Packager: str(h, rpmtag.Packager), URL: str(h, rpmtag.URL), License: str(h, rpmtag.License),
		Vendor: str(h, rpmtag.Vendor), Group: str(h, rpmtag.Group), BuildHost: str(h, rpmtag.BuildHost),
		SourceRPM: str(h, rpmtag.SourceRPM),
		Epoch:     "0",
		BuildTime: h.GetTag(rpmtag.BuildTime).Int64(),
	}
	if t := h.GetTag(rpmtag.Epoch); t != nil {
		p.Epoch = fmt.Sprint(t.Int64())
	}
	if h.GetTag(rpmtag.SourcePackage) != nil || (p.SourceRPM == "" && h.GetTag(rpmtag.SourceRPM) == nil) {
		p.Arch = "src"
	}
	if t := h.GetTag(rpmtag.LongSize); t != nil {
		p.InstalledSize = t.Int64()
	} else {
		p.InstalledSize = h.GetTag(rpmtag.Size).Int64()
	}
	if t := pkg.Signature.GetTag(rpmtag.SigLongArchiveSize); t != nil {
		p.ArchiveSize = t.Int64()
	} else {
		p.ArchiveSize = pkg.Signature.GetTag(rpmtag.SigPayloadSize).Int64()
	}

	p.Files = files(h)
	readDeps(h, p)

	p.Changelogs = changelogs(h, changelogLimit)
	p.Advisory = headerAdvisory(h)
	return p
}

// changelogs returns the newest limit entries, oldest first, as
// createrepo_c writes them: trailing spaces cut from the author, and
// entries sharing a time with an older one moved a second later each.
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
			t := c.Date
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

func files(h *rpm.Header) []File {
	names := h.GetTag(rpmtag.OldFilenames).StringSlice()
	if base := h.GetTag(rpmtag.Basenames).StringSlice(); len(base) > 0 {
		dirs := h.GetTag(rpmtag.Dirnames).StringSlice()
		idx := h.GetTag(rpmtag.DirIndexes).Int64Slice()
		names = make([]string, 0, len(base))
		for i, b := range base {
			if i < len(idx) && int(idx[i]) < len(dirs) && idx[i] >= 0 {
				names = append(names, dirs[idx[i]]+b)
			}
		}
	}
	modes := h.GetTag(rpmtag.FileModes).Int64Slice()
	flags := h.GetTag(rpmtag.FileFlags).Int64Slice()
	out := make([]File, len(names))
	for i, n := range names {
		out[i].Path = n
		switch {
		case i < len(flags) && flags[i]&rpmtag.FileGhost != 0:
			out[i].Type = "ghost"
		case i < len(modes) && modes[i]&0o170000 == 0o040000:
			out[i].Type = "dir"
		}
	}
	return out
}
