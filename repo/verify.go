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
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

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
}

// fetcher opens a path relative to the repository root.
type fetcher func(ctx context.Context, rel string) (io.ReadCloser, error)

func localFetcher(dir string) fetcher {
	return func(_ context.Context, rel string) (io.ReadCloser, error) {
		if !filepath.IsLocal(filepath.FromSlash(rel)) {
			return nil, fmt.Errorf("%s leaves the repository", rel)
		}
		return os.Open(filepath.Join(dir, filepath.FromSlash(rel)))
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

// Verify checks a repository the way dnf does before trusting it: every
// file repomd.xml names has the checksum and size it says (compressed and
// open), the package lists of primary, filelists and other agree, and
// every package file has the checksum and size primary gives. source is
// a directory or an http(s) URL. All faults are reported, joined.
func Verify(ctx context.Context, source string, client *http.Client) (*VerifyResult, error) {
	fetch := localFetcher(source)
	if strings.HasPrefix(source, "http://") || strings.HasPrefix(source, "https://") {
		if client == nil {
			client = http.DefaultClient
		}
		fetch = httpFetcher(source, client)
	}
	res := &VerifyResult{}
	fault := func(format string, args ...any) {
		res.Faults = append(res.Faults, fmt.Errorf("%w: "+format, append([]any{ErrVerify}, args...)...))
	}
	rc, err := fetch(ctx, "repodata/repomd.xml")
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", source, err)
	}
	md, err := ParseRepomd(rc)
	rc.Close()
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", source, err)
	}
	lists := map[string]map[string]bool{}
	var pkgs []pkgRef
	counts := map[string]int{}
	for _, d := range md.Data {
		res.Files++
		var seen map[string]bool
		var refs *[]pkgRef
		switch d.Type {
		case "primary", "filelists", "other":
			seen = map[string]bool{}
			lists[d.Type] = seen
			if d.Type == "primary" {
				refs = &pkgs
			}
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
				if !l[id] {
					fault("package %s is in primary but not in %s", id, kind)
				}
			}
			for id := range l {
				if !p[id] {
					fault("package %s is in %s but not in primary", id, kind)
				}
			}
		}
	}
	for _, p := range pkgs {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		res.Packages++
		if err := checkPackage(ctx, fetch, p); err != nil {
			fault("package %s: %v", p.href, err)
		}
	}
	if len(res.Faults) > 0 {
		return res, fmt.Errorf("verify %s: %w", source, errors.Join(res.Faults...))
	}
	return res, nil
}

type pkgRef struct {
	pkgid, kind, href string
	size              int64
}

// checkData checks one metadata file and, for the package lists, collects
// the pkgids it holds (and primary's package references).
func checkData(ctx context.Context, fetch fetcher, d RepomdData, seen map[string]bool, refs *[]pkgRef) (int, error) {
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
	r := io.TeeReader(rc, comp)
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

// scanPackages reads a primary, filelists or other document and records
// each package's pkgid; for primary it also collects where each package is.
func scanPackages(r io.Reader, seen map[string]bool, refs *[]pkgRef) (int, error) {
	dec := xml.NewDecoder(bufio.NewReaderSize(r, 64<<10))
	declared := -1
	n := 0
	var cur *pkgRef
	var inChecksum bool
	var sum strings.Builder
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
			switch t.Name.Local {
			case "metadata", "filelists", "otherdata":
				for _, a := range t.Attr {
					if a.Name.Local == "packages" {
						declared, _ = strconv.Atoi(a.Value)
					}
				}
			case "package":
				n++
				if refs != nil {
					cur = &pkgRef{}
					continue
				}
				for _, a := range t.Attr {
					if a.Name.Local == "pkgid" {
						if seen[a.Value] {
							return n, fmt.Errorf("package %s is listed twice", a.Value)
						}
						seen[a.Value] = true
					}
				}
			case "checksum":
				if cur != nil {
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
					var base string
					for _, a := range t.Attr {
						switch a.Name.Local {
						case "href":
							cur.href = a.Value
						case "base":
							base = a.Value
						}
					}
					if base != "" {
						cur.href = strings.TrimRight(base, "/") + "/" + cur.href
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
			if inChecksum {
				sum.Write(t)
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "checksum":
				if inChecksum {
					cur.pkgid = strings.TrimSpace(sum.String())
					inChecksum = false
				}
			case "package":
				if cur != nil {
					if seen[cur.pkgid] {
						return n, fmt.Errorf("package %s is listed twice", cur.pkgid)
					}
					seen[cur.pkgid] = true
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
	r := bufio.NewReaderSize(io.TeeReader(rc, c), 64<<10)
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
