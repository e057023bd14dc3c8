package repo

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"context"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cavaliergopher/rpm"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// ErrVerify is wrapped by every fault Verify finds.
var ErrVerify = errors.New("repo: verification failed")

// VerifyResult summarises a successful or failed verification.
type VerifyResult struct {
	Packages int
	Files    int // metadata files checked
	Faults   []error
	// Warnings are what dnf and zypper accept but deserve a look: the
	// same package (pkgid, or name-epoch-version-release-arch) at two
	// locations.
	Warnings []string
}

// fetcher opens a path relative to the repository root.
type fetcher func(ctx context.Context, rel string) (io.ReadCloser, error)

func localFetcher(dir string) fetcher {
	return func(_ context.Context, rel string) (io.ReadCloser, error) {
		if !filepath.IsLocal(filepath.FromSlash(rel)) {
			return nil, fmt.Errorf("%s leaves the repository", rel)
		}
		f, err := os.Open(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			return nil, err
		}
		// Not a device or a pipe that never ends.
		if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
			f.Close()
			return nil, fmt.Errorf("%s is not a regular file", rel)
		}
		return f, nil
	}
}

func httpFetcher(base string, client *http.Client) fetcher {
	base = strings.TrimRight(base, "/") + "/"
	return func(ctx context.Context, rel string) (io.ReadCloser, error) {
		if !filepath.IsLocal(filepath.FromSlash(rel)) || strings.Contains(rel, "\\") {
			return nil, fmt.Errorf("%s leaves the repository", rel)
		}
		u, err := url.Parse(base)
		if err != nil {
			return nil, err
		}
		ref, err := url.Parse(rel)
		if err != nil {
			return nil, err
		}
		if ref.Scheme != "" || ref.Host != "" {
			return nil, fmt.Errorf("%s leaves the repository", rel)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.ResolveReference(ref).String(), nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("GET %s: %s", req.URL, resp.Status)
		}
		return resp.Body, nil
	}
}

// locator finds the files of a repository whose locations may carry an
// xml:base (acn's and createrepo_c's --baseurl, mergerepo_c's output).
// A base that is the repository itself (file:// of the same directory,
// or the URL verified) is read from the repository; an http(s) base is
// fetched from there; a file:// base elsewhere is read from that
// directory, for a local repository only (a remote repository's metadata
// never makes acn read this machine's files). Whatever the base, a
// location never leaves it.
// maxUnsized bounds a metadata file whose size repomd.xml does not give,
// compressed and uncompressed: far above any real repository's (Fedora's
// filelists is under 1 GiB uncompressed), and an end for an endless one.
var maxUnsized int64 = 16 << 30

// capReader fails once more than n bytes were read.
type capReader struct {
	r    io.Reader
	n    int64
	what string
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.n < 0 {
		return 0, fmt.Errorf("%s: over %d bytes with no size in repomd.xml", c.what, maxUnsized)
	}
	if int64(len(p)) > c.n+1 {
		p = p[:c.n+1]
	}
	n, err := c.r.Read(p)
	c.n -= int64(n)
	if c.n < 0 {
		return n, fmt.Errorf("%s: over %d bytes with no size in repomd.xml", c.what, maxUnsized)
	}
	return n, err
}

// verifyClient is the client Verify uses when given none: a server that
// does not answer gives up rather than waits forever (a body sent slowly
// is stopped by the caller's context).
func verifyClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   30 * time.Second,
		ResponseHeaderTimeout: time.Minute,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   4,
	}}
}

type locator struct {
	root   fetcher
	local  string   // the repository's directory, links resolved; "" if remote
	remote *url.URL // the repository's URL; nil if local
	client *http.Client
	bases  map[string]fetcher
}

func newLocator(source string, client *http.Client) *locator {
	if client == nil {
		client = verifyClient()
	}
	l := &locator{client: client, bases: map[string]fetcher{}}
	if strings.HasPrefix(source, "http://") || strings.HasPrefix(source, "https://") {
		l.root = httpFetcher(source, client)
		l.remote, _ = url.Parse(source)
		return l
	}
	l.root = localFetcher(source)
	l.local = realDir(source)
	return l
}

func realDir(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return filepath.Clean(dir)
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		return r
	}
	return abs
}

// sameURL reports whether a and b name the same directory.
func sameURL(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Host, b.Host) &&
		strings.TrimRight(a.EscapedPath(), "/") == strings.TrimRight(b.EscapedPath(), "/") && a.RawQuery == b.RawQuery
}

// fetcher returns what opens locations relative to base.
func (l *locator) fetcher(base string) (fetcher, error) {
	if base == "" {
		return l.root, nil
	}
	if f, ok := l.bases[base]; ok {
		return f, nil
	}
	f, err := l.resolve(base)
	if err != nil {
		return nil, fmt.Errorf("xml:base %q: %w", base, err)
	}
	l.bases[base] = f
	return f, nil
}

func (l *locator) resolve(base string) (fetcher, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	dir := ""
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		if l.remote != nil && sameURL(u, l.remote) {
			return l.root, nil
		}
		return httpFetcher(base, l.client), nil
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("file URL of another host")
		}
		dir = u.Path
	case "":
		if !path.IsAbs(base) {
			// Relative to the repository: within it.
			return func(ctx context.Context, rel string) (io.ReadCloser, error) {
				return l.root(ctx, path.Join(base, rel))
			}, nil
		}
		dir = base
	default:
		return nil, fmt.Errorf("scheme %s is not fetched", u.Scheme)
	}
	if l.local == "" {
		return nil, fmt.Errorf("a local directory: not read for a remote repository")
	}
	if realDir(dir) == l.local {
		return l.root, nil
	}
	return localFetcher(dir), nil
}

// Verify checks a repository the way dnf does before trusting it: every
// file repomd.xml names has the checksum and size it says (compressed and
// open), the package lists of primary, filelists and other agree, and
// every package file has the checksum and size primary gives. source is
// a directory or an http(s) URL; locations with an xml:base are looked
// for there (see locator). All faults are reported, joined. The same
// package at two locations is a warning, as dnf and zypper accept it.
func Verify(ctx context.Context, source string, client *http.Client) (*VerifyResult, error) {
	loc := newLocator(source, client)
	res := &VerifyResult{}
	fault := func(format string, args ...any) {
		res.Faults = append(res.Faults, fmt.Errorf("%w: "+format, append([]any{ErrVerify}, args...)...))
	}
	rc, err := loc.root(ctx, "repodata/repomd.xml")
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", source, err)
	}
	md, err := ParseRepomd(rc)
	rc.Close()
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", source, err)
	}
	lists := map[string]map[string]int{}
	var pkgs []pkgRef
	counts := map[string]int{}
	for _, d := range md.Data {
		res.Files++
		var seen map[string]int
		var refs *[]pkgRef
		switch d.Type {
		case "primary", "filelists", "other":
			seen = map[string]int{}
			lists[d.Type] = seen
			if d.Type == "primary" {
				refs = &pkgs
			}
		}
		fetch, err := loc.fetcher(d.Location.Base)
		if err != nil {
			fault("%s (%s): %v", d.Type, d.Location.Href, err)
			continue
		}
		n, err := checkData(ctx, fetch, d, seen, refs)
		if err != nil {
			fault("%s (%s): %v", d.Type, d.Location.Href, err)
		}
		counts[d.Type] = n
	}
	for _, kind := range []string{"primary", "filelists", "other"} {
		if lists[kind] == nil {
			fault("repomd.xml has no %s record", kind)
		}
	}
	if p := lists["primary"]; p != nil {
		for _, kind := range []string{"filelists", "other"} {
			l := lists[kind]
			if l == nil {
				continue
			}
			for id := range p {
				if l[id] == 0 {
					fault("package %s is in primary but not in %s", id, kind)
				}
			}
			for id := range l {
				if p[id] == 0 {
					fault("package %s is in %s but not in primary", id, kind)
				}
			}
		}
	}
	res.Warnings = duplicates(pkgs)
	// A base that cannot be followed is one fault, not one per package.
	type unfollowed struct {
		err error
		n   int
	}
	bad := map[string]*unfollowed{}
	var badOrder []string
	for _, p := range pkgs {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		res.Packages++
		fetch, err := loc.fetcher(p.base)
		if err != nil {
			if bad[p.base] == nil {
				bad[p.base] = &unfollowed{err: err}
				badOrder = append(badOrder, p.base)
			}
			bad[p.base].n++
			continue
		}
		if err := checkPackage(ctx, fetch, p); err != nil {
			fault("package %s: %v", p.where(), err)
		}
	}
	for _, b := range badOrder {
		fault("%d packages not checked: %v", bad[b].n, bad[b].err)
	}
	if len(res.Faults) > 0 {
		return res, fmt.Errorf("verify %s: %w", source, errors.Join(res.Faults...))
	}
	return res, nil
}

type pkgRef struct {
	pkgid, kind, href, base string
	nevra                   string
	size                    int64
}

func (p pkgRef) where() string {
	if p.base == "" {
		return p.href
	}
	return strings.TrimRight(p.base, "/") + "/" + p.href
}

// duplicates describes every package primary lists at more than one
// location: the same file (one pkgid) twice, or two builds that claim to
// be the same package (one NEVRA, different pkgids).
func duplicates(pkgs []pkgRef) []string {
	var out []string
	byID := map[string][]pkgRef{}
	byNEVRA := map[string][]pkgRef{}
	var ids, nevras []string
	for _, p := range pkgs {
		if p.pkgid != "" {
			if byID[p.pkgid] == nil {
				ids = append(ids, p.pkgid)
			}
			byID[p.pkgid] = append(byID[p.pkgid], p)
		}
		if p.nevra != "" {
			if byNEVRA[p.nevra] == nil {
				nevras = append(nevras, p.nevra)
			}
			byNEVRA[p.nevra] = append(byNEVRA[p.nevra], p)
		}
	}
	where := func(ps []pkgRef) string {
		var w []string
		for _, p := range ps {
			w = append(w, p.where())
		}
		return strings.Join(w, ", ")
	}
	for _, id := range ids {
		if ps := byID[id]; len(ps) > 1 {
			out = append(out, fmt.Sprintf("package %s (pkgid %s) is at %d locations: %s", ps[0].nevra, id, len(ps), where(ps)))
		}
	}
	for _, nv := range nevras {
		ps := byNEVRA[nv]
		distinct := map[string]bool{}
		for _, p := range ps {
			distinct[p.pkgid] = true
		}
		if len(distinct) > 1 {
			out = append(out, fmt.Sprintf("package %s is at %d locations with different contents: %s", nv, len(ps), where(ps)))
		}
	}
	return out
}

// checkData checks one metadata file and, for the package lists, counts
// the pkgids it holds (and collects primary's package references). It
// reads no more than the sizes repomd.xml gives, when it gives them.
func checkData(ctx context.Context, fetch fetcher, d RepomdData, seen map[string]int, refs *[]pkgRef) (int, error) {
	rc, err := fetch(ctx, d.Location.Href)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	ch, err := newHash(d.Checksum.Type)
	if err != nil {
		return 0, err
	}
	comp := &counter{h: ch}
	var r io.Reader = rc
	if d.Size > 0 {
		r = io.LimitReader(r, d.Size+1)
	} else {
		// No recorded size (another tool's repomd.xml): still an end.
		r = &capReader{r: r, n: maxUnsized, what: d.Location.Href}
	}
	r = io.TeeReader(r, comp)
	var z io.Reader
	switch path.Ext(d.Location.Href) {
	case ".gz":
		zr, err := gzip.NewReader(r)
		if err != nil {
			return 0, err
		}
		z = zr
	case ".xz":
		zr, err := xz.NewReader(r)
		if err != nil {
			return 0, err
		}
		z = zr
	case ".zst":
		zr, err := zstd.NewReader(r)
		if err != nil {
			return 0, err
		}
		defer zr.Close()
		z = zr
	case ".bz2":
		z = bzip2.NewReader(r)
	default:
		z = r
	}
	if d.OpenSize > 0 {
		z = io.LimitReader(z, d.OpenSize+1)
	} else {
		z = &capReader{r: z, n: maxUnsized, what: d.Location.Href + " (uncompressed)"}
	}
	var open *counter
	if d.OpenChecksum.Type != "" {
		oh, err := newHash(d.OpenChecksum.Type)
		if err != nil {
			return 0, err
		}
		open = &counter{h: oh}
		z = io.TeeReader(z, open)
	}
	n := 0
	if seen != nil {
		n, err = scanPackages(z, seen, refs)
		if err != nil {
			return n, err
		}
	}
	if _, err := io.Copy(io.Discard, z); err != nil {
		return n, err
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return n, err
	}
	var errs []error
	if got := hex.EncodeToString(comp.h.Sum(nil)); got != d.Checksum.Value {
		errs = append(errs, fmt.Errorf("checksum %s, repomd.xml says %s", got, d.Checksum.Value))
	}
	if d.Size != 0 && comp.n != d.Size {
		errs = append(errs, fmt.Errorf("size %d, repomd.xml says %d", comp.n, d.Size))
	}
	if open != nil {
		if got := hex.EncodeToString(open.h.Sum(nil)); got != d.OpenChecksum.Value {
			errs = append(errs, fmt.Errorf("open checksum %s, repomd.xml says %s", got, d.OpenChecksum.Value))
		}
		if d.OpenSize != 0 && open.n != d.OpenSize {
			errs = append(errs, fmt.Errorf("open size %d, repomd.xml says %d", open.n, d.OpenSize))
		}
	}
	return n, errors.Join(errs...)
}

// scanPackages reads a primary, filelists or other document and counts
// each package's pkgid; for primary it also collects where each package
// is and its NEVRA.
func scanPackages(r io.Reader, seen map[string]int, refs *[]pkgRef) (int, error) {
	dec := xml.NewDecoder(bufio.NewReaderSize(&tokenBound{r: r}, 64<<10))
	declared := -1
	n := 0
	var cur *pkgRef
	var name, arch, evr string
	var field *string // the <name> or <arch> being read
	var inChecksum bool
	var sum strings.Builder
	depth, pkgDepth := 0, 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, fmt.Errorf("parse: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch t.Name.Local {
			case "metadata", "filelists", "otherdata":
				for _, a := range t.Attr {
					if a.Name.Local == "packages" {
						declared, _ = strconv.Atoi(a.Value)
					}
				}
			case "package":
				n++
				if n > maxVerifyPackages {
					if refs != nil {
						*refs = nil // none of them is fetched
					}
					return n, fmt.Errorf("more than %d packages: not read further", maxVerifyPackages)
				}
				if refs != nil {
					cur, pkgDepth = &pkgRef{}, depth
					name, arch, evr = "", "", ""
					continue
				}
				for _, a := range t.Attr {
					if a.Name.Local == "pkgid" {
						seen[a.Value]++
					}
				}
			case "name", "arch":
				if cur != nil && depth == pkgDepth+1 {
					field = &name
					if t.Name.Local == "arch" {
						field = &arch
					}
					*field = ""
				}
			case "version":
				if cur != nil && depth == pkgDepth+1 {
					var e, v, rel string
					for _, a := range t.Attr {
						switch a.Name.Local {
						case "epoch":
							e = a.Value
						case "ver":
							v = a.Value
						case "rel":
							rel = a.Value
						}
					}
					if e == "" {
						e = "0"
					}
					evr = e + ":" + v + "-" + rel
				}
			case "checksum":
				if cur != nil && depth == pkgDepth+1 {
					inChecksum = true
					sum.Reset()
					for _, a := range t.Attr {
						if a.Name.Local == "type" {
							cur.kind = a.Value
						}
					}
				}
			case "location":
				if cur != nil {
					for _, a := range t.Attr {
						switch a.Name.Local {
						case "href":
							cur.href = a.Value
						case "base":
							cur.base = a.Value
						}
					}
				}
			case "size":
				if cur != nil {
					for _, a := range t.Attr {
						if a.Name.Local == "package" {
							cur.size, _ = strconv.ParseInt(a.Value, 10, 64)
						}
					}
				}
			}
		case xml.CharData:
			if inChecksum && sum.Len() < 1024 {
				sum.Write(t)
			}
			if field != nil && len(*field) < 1024 {
				*field += string(t)
			}
		case xml.EndElement:
			depth--
			switch t.Name.Local {
			case "name", "arch":
				field = nil
			case "checksum":
				if inChecksum {
					cur.pkgid = strings.TrimSpace(sum.String())
					inChecksum = false
				}
			case "package":
				if cur != nil {
					seen[cur.pkgid]++
					if name != "" {
						cur.nevra = name + "-" + evr + "." + arch
					}
					*refs = append(*refs, *cur)
					cur = nil
				}
			}
		}
	}
	if declared >= 0 && declared != n {
		return n, fmt.Errorf("says packages=%d but lists %d", declared, n)
	}
	return n, nil
}

// maxVerifyPackages bounds the packages of one primary, filelists or
// other document that verify reads (and, for primary, fetches): a remote
// repository that lists packages without end is refused, not followed
// until memory runs out. The largest real repositories list a few
// hundred thousand.
const maxVerifyPackages = 1 << 20

// maxTokenBytes bounds what the XML decoder holds of one token of a
// metadata document: a run of bytes without a '<' (a text or a tag; an
// attribute value holds no '<'). Real ones are a few kilobytes.
const maxTokenBytes = 64 << 20

// tokenBound fails a document with a run longer than maxTokenBytes.
type tokenBound struct {
	r   io.Reader
	run int
}

func (b *tokenBound) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if i := bytes.LastIndexByte(p[:n], '<'); i >= 0 {
		b.run = n - 1 - i
	} else {
		b.run += n
	}
	if b.run > maxTokenBytes {
		return n, fmt.Errorf("more than %d bytes without a tag", maxTokenBytes)
	}
	return n, err
}

func checkPackage(ctx context.Context, fetch fetcher, p pkgRef) error {
	rc, err := fetch(ctx, p.href)
	if err != nil {
		return err
	}
	defer rc.Close()
	h, err := newHash(p.kind)
	if err != nil {
		return err
	}
	c := &counter{h: h}
	var body io.Reader = rc
	if p.size > 0 {
		body = io.LimitReader(body, p.size+1) // a server that never stops is cut off
	}
	r := bufio.NewReaderSize(io.TeeReader(body, c), 64<<10)
	integ, ierr := streamIntegrity(r)
	if ierr == nil {
		_, err = io.Copy(integ, r)
	} else {
		_, err = io.Copy(io.Discard, r)
	}
	if err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != p.pkgid {
		return fmt.Errorf("checksum %s, primary says %s", got, p.pkgid)
	}
	if p.size != 0 && c.n != p.size {
		return fmt.Errorf("size %d, primary says %d", c.n, p.size)
	}
	if ierr == nil {
		ierr = integ.check()
	}
	return ierr
}

// streamIntegrity reads a package's headers from r and returns the check
// that the rest of r, its payload, must pass.
func streamIntegrity(r io.Reader) (integ *integrity, err error) {
	hb, start, err := readHeaders(r)
	if err != nil {
		return nil, err
	}
	if err := checkHeaders(bytes.NewReader(hb), int64(len(hb))); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			integ, err = nil, fmt.Errorf("%w: malformed header (%v)", ErrCorrupt, r)
		}
	}()
	pkg, err := rpm.Read(bytes.NewReader(hb))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return newIntegrity(pkg, hb[start:])
}
