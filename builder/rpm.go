package builder

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cavaliergopher/cpio"
	"github.com/google/rpmpack"
	"github.com/klauspost/compress/zstd"
	gzip "github.com/klauspost/pgzip"
	"github.com/ulikunitz/xz"

	"github.com/acn-project/acn/builder/autodeps"
	"github.com/acn-project/acn/internal/advisory"
	"github.com/acn-project/acn/internal/ctxio"
	"github.com/acn-project/acn/internal/rpmtag"
	"github.com/acn-project/acn/specs"
)

const (
	modeDir     = 0o040000
	modeRegular = 0o100000
	modeSymlink = 0o120000
	dirSize     = 0 // as rpm >= 4.14 records them (4.13 and older: st_size)
)

// entry is one path of the package, in package order (sorted by name).
type entry struct {
	name   string // absolute path in the package
	mode   uint32 // type and permission bits
	owner  string
	group  string
	flags  uint32
	size   int64
	link   string
	open   func() (io.ReadCloser, error) // regular files with content
	origin string                        // where it came from, for errors
	src    string                        // its path in $DESTDIR, if it came from there
	field  string                        // the spec's files entry, e.g. packages[0].files[2]
	line   int                           // its line in the spec file
}

func (e *entry) isDir() bool     { return e.mode&0o170000 == modeDir }
func (e *entry) isSymlink() bool { return e.mode&0o170000 == modeSymlink }
func (e *entry) isGhost() bool   { return e.flags&rpmtag.FileGhost != 0 }

// Compression names a payload compressor and its level, such as "gzip",
// "gzip:9", "xz" or "zstd:19".
type Compression struct {
	Name  string
	Level int
}

// ParseCompression reads "name[:level]"; the empty string means gzip at
// level 6, which every rpm since EL5 reads.
func ParseCompression(s string) (Compression, error) {
	name, lvl, hasLevel := strings.Cut(s, ":")
	c := Compression{Name: name}
	switch name {
	case "", "gzip":
		c = Compression{Name: "gzip", Level: 6}
	case "xz":
		c.Level = 6
	case "zstd":
		c.Level = 3
	default:
		return c, fmt.Errorf("unknown compression %q (want gzip, xz or zstd)", s)
	}
	if hasLevel {
		n, err := strconv.Atoi(lvl)
		max := map[string]int{"gzip": 9, "xz": 9, "zstd": 19}[c.Name]
		if err != nil || n < 1 || n > max {
			return c, fmt.Errorf("compression level %q for %s: want 1 to %d", lvl, c.Name, max)
		}
		c.Level = n
	}
	return c, nil
}

func (c Compression) String() string { return fmt.Sprintf("%s:%d", c.Name, c.Level) }

func (c Compression) writer(w io.Writer) (io.WriteCloser, error) {
	switch c.Name {
	case "gzip":
		return gzip.NewWriterLevel(w, c.Level)
	case "xz":
		// ulikunitz/xz has no levels; its output is deterministic.
		return xz.NewWriter(w)
	case "zstd":
		return zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(c.Level)))
	}
	return nil, fmt.Errorf("unknown compression %q", c.Name)
}

// header holds what goes into the rpm header besides the file list.
type header struct {
	spec      *specs.Spec
	buildTime time.Time
	buildHost string
	comp      Compression
	sourceRPM string // the source package every RPM of the build names
	prov      provenance
	adv       *advisory.Advisory // see advisory.go; nil: none
	auto      *autodeps.Result   // the package's automatic dependencies (deps.go)
}

// payload is the compressed cpio archive, kept in a temporary file so that
// no file content is ever held in memory whole.
type payload struct {
	file        *os.File
	size        int64  // compressed
	archiveSize int64  // uncompressed cpio
	sha256      string // of the compressed bytes
	digests     []string
	sizes       []int64
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writePayload streams every entry's content through cpio and the
// compressor into a temporary file in dir, hashing each file on the way.
func writePayload(ctx context.Context, dir string, ents []entry, mtime time.Time, comp Compression, progress func(done, total int64)) (_ *payload, err error) {
	f, err := os.CreateTemp(dir, ".payload-*")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name()) // anonymous: gone when closed, whatever happens
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	sum := sha256.New()
	compressed := &countWriter{w: io.MultiWriter(f, sum)}
	zw, err := comp.writer(compressed)
	if err != nil {
		return nil, err
	}
	archive := &countWriter{w: zw}
	cw := cpio.NewWriter(archive)
	var prog *progressWriter
	if progress != nil {
		prog = &progressWriter{report: progress}
		for i := range ents {
			if ents[i].open != nil {
				prog.total += ents[i].size
			}
		}
		defer func() {
			if err == nil {
				progress(prog.total, prog.total)
			}
		}()
	}
	p := &payload{file: f, digests: make([]string, len(ents)), sizes: make([]int64, len(ents))}
	buf := make([]byte, 256<<10)
	for i := range ents {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		e := &ents[i]
		switch {
		case e.isDir():
			p.sizes[i] = dirSize
		case e.isSymlink():
			p.sizes[i] = int64(len(e.link))
		case e.isGhost():
			continue
		default:
			p.sizes[i] = e.size
		}
		if e.isGhost() {
			continue
		}
		hdr := &cpio.Header{Name: "." + e.name, Mode: cpio.FileMode(e.mode), Inode: int64(i + 1), ModTime: mtime, Links: 1}
		if e.isDir() {
			hdr.Links = 2
		} else {
			hdr.Size = p.sizes[i]
		}
		if hdr.Size > math.MaxUint32 {
			return nil, fmt.Errorf("%s: %d bytes: files of 4 GiB and more need 64-bit rpm sizes, which rpmpack does not write", e.name, hdr.Size)
		}
		if err := cw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("payload %s: %w", e.name, err)
		}
		switch {
		case e.isSymlink():
			if _, err := io.WriteString(cw, e.link); err != nil {
				return nil, fmt.Errorf("payload %s: %w", e.name, err)
			}
		case !e.isDir():
			var w io.Writer = ctxio.Writer(ctx, cw)
			if prog != nil {
				prog.w = w
				w = prog
			}
			d, err := copyFile(w, e, buf)
			if err != nil {
				return nil, err
			}
			p.digests[i] = d
		}
	}
	if err := cw.Close(); err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("payload: %s: %w", comp.Name, err)
	}
	p.size = compressed.n
	p.archiveSize = archive.n
	p.sha256 = hex.EncodeToString(sum.Sum(nil))
	return p, nil
}

// progressWriter reports bytes of file content written, at most once per
// MiB.
type progressWriter struct {
	w           io.Writer
	done, total int64
	last        int64
	report      func(done, total int64)
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.done += int64(n)
	if p.done-p.last >= 1<<20 {
		p.last = p.done
		p.report(p.done, p.total)
	}
	return n, err
}

// copyFile streams one regular file into the archive and returns its
// SHA-256; a file whose size changed since it was listed is an error, not
// a corrupt payload.
func copyFile(w io.Writer, e *entry, buf []byte) (string, error) {
	h := sha256.New()
	if e.size == 0 && e.open == nil {
		return hex.EncodeToString(h.Sum(nil)), nil
	}
	r, err := e.open()
	if err != nil {
		return "", fmt.Errorf("read %s: %w", e.origin, err)
	}
	defer r.Close()
	n, err := io.CopyBuffer(io.MultiWriter(w, h), io.LimitReader(r, e.size+1), buf)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", e.origin, err)
	}
	if n != e.size {
		return "", fmt.Errorf("read %s: size changed while packing (%d bytes, expected %d)", e.origin, n, e.size)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeRPM writes the package into f: lead, signature header, header
// (built by rpmpack from metadata and the file list) and the streamed
// payload. The signature's MD5 digest covers the header and the payload,
// and the signature's length does not depend on it: the payload is
// copied to its place and flushed to disk (for the caller's fsync) while
// the digest is computed.
func writeRPM(f *os.File, h *header, ents []entry, p *payload) error {
	if p.archiveSize > math.MaxUint32 || p.size > math.MaxUint32-(16<<20) {
		return fmt.Errorf("payload of %d bytes (%d uncompressed) needs 64-bit rpm sizes, which rpmpack does not write", p.size, p.archiveSize)
	}
	first, err := h.build(ents, p, nil)
	if err != nil {
		return err
	}
	_, hb, _, err := splitRPM(first)
	if err != nil {
		return err
	}
	sigs := func(md5sum []byte) map[int]rpmpack.IndexEntry {
		return map[int]rpmpack.IndexEntry{
			rpmtag.SigSHA1:        rpmpack.EntryString(hexSum(sha1.New(), hb)),
			rpmtag.SigSHA256:      rpmpack.EntryString(hexSum(sha256.New(), hb)),
			rpmtag.SigSize:        rpmpack.EntryUint32([]uint32{uint32(int64(len(hb)) + p.size)}),
			rpmtag.SigMD5:         rpmpack.EntryBytes(md5sum),
			rpmtag.SigPayloadSize: rpmpack.EntryUint32([]uint32{uint32(p.archiveSize)}),
		}
	}
	draft, err := h.build(ents, p, sigs(make([]byte, md5.Size)))
	if err != nil {
		return err
	}
	draftLead, _, _, err := splitRPM(draft)
	if err != nil {
		return err
	}
	copied := make(chan error, 1)
	go func() {
		if _, err := f.Seek(int64(len(draftLead)+len(hb)), io.SeekStart); err != nil {
			copied <- err
			return
		}
		if err := readPayload(p, f); err != nil {
			copied <- err
			return
		}
		copied <- f.Sync()
	}()
	md := md5.New()
	md.Write(hb)
	n, err := io.Copy(md, io.NewSectionReader(p.file, 0, p.size))
	if err == nil && n != p.size {
		err = fmt.Errorf("payload file holds %d bytes, expected %d", n, p.size)
	}
	if err := errors.Join(err, <-copied); err != nil {
		return err
	}
	second, err := h.build(ents, p, sigs(md.Sum(nil)))
	if err != nil {
		return err
	}
	lead, hb2, _, err := splitRPM(second)
	if err != nil {
		return err
	}
	if !bytes.Equal(hb, hb2) {
		return errors.New("rpmpack wrote two different headers for the same package")
	}
	if len(lead) != len(draftLead) {
		return errors.New("rpmpack's signature header changed length with its MD5 digest")
	}
	if _, err := f.WriteAt(lead, 0); err != nil {
		return err
	}
	_, err = f.WriteAt(hb, int64(len(lead)))
	return err
}

func hexSum(h hash.Hash, b []byte) string {
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

func readPayload(p *payload, w io.Writer) error {
	if _, err := p.file.Seek(0, io.SeekStart); err != nil {
		return err
	}
	n, err := io.Copy(w, p.file)
	if err == nil && n != p.size {
		err = fmt.Errorf("payload file holds %d bytes, expected %d", n, p.size)
	}
	return err
}

// splitRPM cuts rpmpack's output into lead+signature (with padding), the
// main header, and rpmpack's own payload, which acn discards.
func splitRPM(b []byte) (leadSig, hdr, rest []byte, err error) {
	const leadSize = 96
	sigLen, err := headerLen(b, leadSize)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("rpmpack signature header: %w", err)
	}
	end := leadSize + sigLen
	end += (8 - sigLen%8) % 8
	hLen, err := headerLen(b, end)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("rpmpack header: %w", err)
	}
	return b[:end], b[end : end+hLen], b[end+hLen:], nil
}

func headerLen(b []byte, off int) (int, error) {
	if len(b) < off+16 || !bytes.Equal(b[off:off+4], []byte{0x8e, 0xad, 0xe8, 0x01}) {
		return 0, errors.New("bad header magic")
	}
	n := int(binary.BigEndian.Uint32(b[off+8:]))
	size := int(binary.BigEndian.Uint32(b[off+12:]))
	l := 16 + 16*n + size
	if len(b) < off+l {
		return 0, errors.New("short header")
	}
	return l, nil
}

// build runs rpmpack over the metadata and file list; file contents are
// never given to it, their sizes and digests come from the payload pass.
func (h *header) build(ents []entry, p *payload, sigs map[int]rpmpack.IndexEntry) ([]byte, error) {
	s := h.spec
	epoch := rpmpack.NoEpoch
	if s.Epoch != nil {
		epoch = *s.Epoch
	}
	r, err := rpmpack.NewRPM(rpmpack.RPMMetaData{
		Name: s.Name, Version: s.Version, Release: s.Release, Epoch: epoch, Arch: s.Arch, OS: "linux",
		Summary: s.Summary, Description: s.Description, Licence: s.License, URL: s.URL,
		Vendor: s.Vendor, Packager: s.Packager, Group: s.Group,
		BuildHost: h.buildHost, BuildTime: h.buildTime, Compressor: "gzip:1",
	})
	if err != nil {
		return nil, err
	}
	mtime := uint32(h.buildTime.Unix())
	sizes := make([]uint32, len(ents))
	inodes := make([]int32, len(ents))
	rdevs := make([]int16, len(ents))
	var total int64
	for i := range ents {
		e := &ents[i]
		f := rpmpack.RPMFile{Name: e.name, Mode: uint(e.mode), Owner: e.owner, Group: e.group, MTime: mtime, Type: rpmpack.FileType(e.flags)}
		if e.isSymlink() {
			f.Body = []byte(e.link)
		}
		r.AddFile(f)
		sizes[i] = uint32(p.sizes[i])
		inodes[i] = int32(i + 1)
		if !e.isGhost() {
			total += p.sizes[i]
		}
	}
	if len(ents) > 0 {
		r.AddCustomTag(rpmtag.FileSizes, rpmpack.EntryUint32(sizes))
		r.AddCustomTag(rpmtag.FileDigests, rpmpack.EntryStringSlice(p.digests))
		r.AddCustomTag(rpmtag.FileINodes, rpmpack.EntryInt32(inodes))
		r.AddCustomTag(rpmtag.FileRDevs, rpmpack.EntryInt16(rdevs))
	}
	if total > math.MaxUint32 {
		return nil, fmt.Errorf("installed size %d needs 64-bit rpm sizes, which rpmpack does not write", total)
	}
	r.AddCustomTag(rpmtag.Size, rpmpack.EntryUint32([]uint32{uint32(total)}))
	r.AddCustomTag(rpmtag.PayloadDigest, rpmpack.EntryStringSlice([]string{p.sha256}))
	r.AddCustomTag(rpmtag.PayloadFlags, rpmpack.EntryString(strconv.Itoa(h.comp.Level)))
	r.AddCustomTag(rpmtag.Encoding, rpmpack.EntryString("utf-8"))
	r.AddCustomTag(rpmtag.RPMVersion, rpmpack.EntryString("4.18.0"))

	sc := s.Scripts
	r.AddPrein(sc.Pre)
	r.AddPostin(sc.Post)
	r.AddPreun(sc.PreUn)
	r.AddPostun(sc.PostUn)
	r.AddPretrans(sc.PreTrans)
	r.AddPosttrans(sc.PostTrans)
	// rpmpack names /bin/sh for every scriptlet; a #! line names another.
	for _, x := range scriptlets(s) {
		if x.body != "" && x.interp != "/bin/sh" {
			r.AddCustomTag(x.progTag, rpmpack.EntryString(x.interp))
		}
	}
	if h.sourceRPM != "" {
		r.AddCustomTag(rpmtag.SourceRPM, rpmpack.EntryString(h.sourceRPM))
	}
	h.prov.addTo(r)
	addAdvisory(r, h.adv)
	// rpmpack always writes the compressor name it was given; name ours.
	r.AddCustomTag(rpmtag.PayloadCompressor, rpmpack.EntryString(h.comp.Name))

	tags, requires, provides, late := h.deps(len(ents) > 0)
	for _, d := range tags {
		r.AddCustomTag(d.nameTag, d.names)
		r.AddCustomTag(d.versionTag, d.versions)
		r.AddCustomTag(d.flagsTag, d.flags)
	}
	if err := addFileTags(r, h.auto, requires, provides, late); err != nil {
		return nil, err
	}
	if len(s.Changelog) > 0 {
		times := make([]uint32, len(s.Changelog))
		names := make([]string, len(s.Changelog))
		texts := make([]string, len(s.Changelog))
		for i, c := range s.Changelog {
			times[i] = uint32(c.Date.Unix())
			names[i] = c.Author
			if c.Version != "" {
				names[i] += " - " + c.Version
			}
			texts[i] = c.Text
		}
		r.AddCustomTag(rpmtag.ChangelogTime, rpmpack.EntryUint32(times))
		r.AddCustomTag(rpmtag.ChangelogName, rpmpack.EntryStringSlice(names))
		r.AddCustomTag(rpmtag.ChangelogText, rpmpack.EntryStringSlice(texts))
	}
	for tag, e := range sigs {
		r.AddCustomSig(tag, e)
	}
	var out bytes.Buffer
	if err := r.Write(&out); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

type depTags struct {
	nameTag, versionTag, flagsTag int
	names, versions, flags        rpmpack.IndexEntry
}

type dep struct {
	name, version string
	flags         uint32
}

var opFlags = map[string]uint32{"<": rpmtag.SenseLess, "<=": rpmtag.SenseLess | rpmtag.SenseEqual, "=": rpmtag.SenseEqual, ">=": rpmtag.SenseGreater | rpmtag.SenseEqual, ">": rpmtag.SenseGreater}

func fromSpec(ds []specs.Dep) []dep {
	out := make([]dep, 0, len(ds))
	for _, d := range ds {
		out = append(out, dep{name: d.Name, version: d.Version, flags: opFlags[d.Op]})
	}
	return out
}

// deps returns every dependency kind's name/version/flags tags. It adds what rpmbuild would: self-provides, the
// rpmlib() features the package uses, scriptlet interpreters and the
// automatic dependencies (deps.go). It also returns the final requires
// and provides, and the names of the rpmlib() requires rpmbuild adds
// after it indexed the files' dependencies.
func (h *header) deps(hasFiles bool) (_ []depTags, requires, provides []dep, late map[string]bool) {
	s := h.spec
	evr := s.EVR()
	provides = fromSpec(s.Provides)
	provides = appendMissing(provides, dep{s.Name, evr, rpmtag.SenseEqual})
	if isa := isaName(s.Arch); isa != "" {
		provides = appendMissing(provides, dep{s.Name + "(" + isa + ")", evr, rpmtag.SenseEqual})
	}

	requires = fromSpec(s.Requires)
	late = map[string]bool{}
	for _, sc := range scriptlets(s) {
		if sc.body != "" {
			requires = append(requires, dep{sc.interp, "", rpmtag.SenseInterp | sc.flag})
		}
	}
	lib := func(feature, version string) {
		requires = append(requires, dep{"rpmlib(" + feature + ")", version, rpmtag.SenseRPMLib | rpmtag.SenseLess | rpmtag.SenseEqual})
	}
	if hasFiles {
		lib("CompressedFileNames", "3.0.4-1")
		lib("FileDigests", "4.6.0-1")
	}
	lib("PayloadFilesHavePrefix", "4.0-1")
	switch h.comp.Name {
	case "xz":
		lib("PayloadIsXz", "5.2-1")
		late["rpmlib(PayloadIsXz)"] = true
	case "zstd":
		lib("PayloadIsZstd", "5.4.18-1")
		late["rpmlib(PayloadIsZstd)"] = true
	}
	rich := false
	for _, list := range [][]specs.Dep{s.Requires, s.Conflicts, s.Obsoletes, s.Recommends, s.Suggests, s.Supplements, s.Enhances, s.Provides} {
		for _, d := range list {
			rich = rich || d.Rich()
		}
	}
	if h.auto != nil {
		requires = append(requires, fromAuto(h.auto.Requires)...)
		provides = append(provides, fromAuto(h.auto.Provides)...)
		rich = rich || h.auto.RichDependencies
	}
	if rich {
		lib("RichDependencies", "4.12.0-1")
		late["rpmlib(RichDependencies)"] = true
	}
	requires, provides = depSet(requires), depSet(provides)

	var out []depTags
	add := func(nameTag, versionTag, flagsTag int, ds []dep) {
		if len(ds) == 0 {
			return
		}
		names := make([]string, len(ds))
		versions := make([]string, len(ds))
		flags := make([]uint32, len(ds))
		for i, d := range ds {
			names[i], versions[i], flags[i] = d.name, d.version, d.flags
		}
		out = append(out, depTags{nameTag, versionTag, flagsTag,
			rpmpack.EntryStringSlice(names), rpmpack.EntryStringSlice(versions), rpmpack.EntryUint32(flags)})
	}
	add(rpmtag.ProvideName, rpmtag.ProvideVersion, rpmtag.ProvideFlags, provides)
	add(rpmtag.RequireName, rpmtag.RequireVersion, rpmtag.RequireFlags, requires)
	add(rpmtag.ConflictName, rpmtag.ConflictVersion, rpmtag.ConflictFlags, fromSpec(s.Conflicts))
	add(rpmtag.ObsoleteName, rpmtag.ObsoleteVersion, rpmtag.ObsoleteFlags, fromSpec(s.Obsoletes))
	add(rpmtag.RecommendName, rpmtag.RecommendName+1, rpmtag.RecommendName+2, fromSpec(s.Recommends))
	add(rpmtag.SuggestName, rpmtag.SuggestName+1, rpmtag.SuggestName+2, fromSpec(s.Suggests))
	add(rpmtag.SupplementName, rpmtag.SupplementName+1, rpmtag.SupplementName+2, fromSpec(s.Supplements))
	add(rpmtag.EnhanceName, rpmtag.EnhanceName+1, rpmtag.EnhanceName+2, fromSpec(s.Enhances))
	return out, requires, provides, late
}

type scriptlet struct {
	body    string
	interp  string // from a leading #! line, else /bin/sh
	flag    uint32 // dependency flag for its interpreter
	progTag int    // header tag naming its interpreter
}

func scriptlets(s *specs.Spec) []scriptlet {
	out := []scriptlet{
		{s.Scripts.PreTrans, "", rpmtag.SensePretrans, rpmtag.PreTransProg}, {s.Scripts.Pre, "", rpmtag.SenseScriptPre, rpmtag.PreInProg},
		{s.Scripts.Post, "", rpmtag.SenseScriptPost, rpmtag.PostInProg}, {s.Scripts.PreUn, "", rpmtag.SenseScriptPreun, rpmtag.PreUnProg},
		{s.Scripts.PostUn, "", rpmtag.SenseScriptPostun, rpmtag.PostUnProg}, {s.Scripts.PostTrans, "", rpmtag.SensePosttrans, rpmtag.PostTransProg},
	}
	for i := range out {
		out[i].interp = "/bin/sh"
		if rest, ok := strings.CutPrefix(out[i].body, "#!"); ok {
			line, _, _ := strings.Cut(rest, "\n")
			if f := strings.Fields(line); len(f) == 1 && strings.HasPrefix(f[0], "/") {
				out[i].interp = f[0]
			}
		}
	}
	return out
}

func appendMissing(ds []dep, d dep) []dep {
	for _, x := range ds {
		if x.name == d.name {
			return ds
		}
	}
	return append(ds, d)
}

// isaName is the ISA suffix rpmbuild adds to an arch package's
// self-provide, e.g. x86_64 -> x86-64.
func isaName(arch string) string {
	switch arch {
	case "noarch":
		return ""
	case "x86_64", "amd64":
		return "x86-64"
	case "i386", "i486", "i586", "i686", "athlon":
		return "x86-32"
	case "aarch64":
		return "aarch-64"
	case "ppc64le", "ppc64":
		return "ppc-64"
	case "s390x":
		return "s390-64"
	case "armv7hl", "armv7l", "armv6hl":
		return "arm-32"
	case "riscv64":
		return "riscv-64"
	}
	return ""
}
