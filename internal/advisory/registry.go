package advisory

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/acn-project/acn/internal/atomicfile"
)

// Registry gives advisory IDs: the same package name and version always
// gets the same ID, a new one the next number of its year. It lives in
// one small JSON file (the daemon's DATA/advisories.json, or the output
// directory's for acn build), so that a rebuild or a restart gives the
// same ID, and with it the same RPM bytes.
//
// A Registry is safe for concurrent use, and several processes may share
// the file: each allocation holds a kernel lock on FILE.lock (released
// when its holder dies) and replaces the file atomically.
type Registry struct {
	path   string
	prefix string
	mu     sync.Mutex
}

// MaxRegistrySize bounds the registry file read.
const MaxRegistrySize = 32 << 20

// maxPerYear is how many IDs one year can have: ACN-YYYY-NNNN grows to
// more digits past 9999, up to this.
const maxPerYear = 999_999_999

// registryFile is the file's content.
type registryFile struct {
	// Next is the next number to give, per year.
	Next map[string]int `json:"next"`
	// IDs maps "name version" to its ID.
	IDs map[string]string `json:"ids"`
}

// OpenRegistry returns the registry kept in the file path (created at the
// first allocation). IDs start with "ACN".
func OpenRegistry(path string) *Registry { return &Registry{path: path, prefix: "ACN"} }

// Path is the registry's file.
func (r *Registry) Path() string { return r.path }

// ID returns the ID of the advisory of package name at version (as the
// changelog entry names it), allocating the next one of year if it has
// none yet.
func (r *Registry) ID(name, version string, year int) (string, error) {
	if year < 1970 || year > 9999 {
		return "", fmt.Errorf("%w: year %d out of range", ErrRegistry, year)
	}
	key := name + " " + version
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(r.path), 0o755); err != nil {
		return "", fmt.Errorf("%w %s: %w", ErrRegistry, r.path, err)
	}
	lf, err := os.OpenFile(r.path+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", fmt.Errorf("%w %s: %w", ErrRegistry, r.path, err)
	}
	defer lf.Close()
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("%w %s: lock: %w", ErrRegistry, r.path, err)
	}
	f, err := r.read()
	if err != nil {
		return "", err
	}
	if id, ok := f.IDs[key]; ok {
		return id, nil
	}
	y := strconv.Itoa(year)
	// The next number, and past every one already handed out: a
	// damaged or partly restored "next" must not give an ID twice.
	n := max(f.Next[y], 1)
	prefix := fmt.Sprintf("%s-%04d-", r.prefix, year)
	for _, used := range f.IDs {
		if rest, ok := strings.CutPrefix(used, prefix); ok {
			if k, err := strconv.Atoi(rest); err == nil && k >= n {
				n = k + 1
			}
		}
	}
	if n > maxPerYear {
		return "", fmt.Errorf("%w %s: no IDs left for %d", ErrRegistry, r.path, year)
	}
	id := fmt.Sprintf("%s-%04d-%04d", r.prefix, year, n)
	f.Next[y] = n + 1
	f.IDs[key] = id
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return "", err
	}
	b = append(b, '\n')
	if err := atomicfile.Write(r.path, 0o644, func(w *os.File) error { _, err := w.Write(b); return err }); err != nil {
		return "", fmt.Errorf("%w %s: save: %w", ErrRegistry, r.path, err)
	}
	return id, nil
}

// Lookup returns the ID already given to name at version, if any.
func (r *Registry) Lookup(name, version string) (string, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, err := r.read()
	if err != nil {
		return "", false, err
	}
	id, ok := f.IDs[name+" "+version]
	return id, ok, nil
}

func (r *Registry) read() (*registryFile, error) {
	f := &registryFile{Next: map[string]int{}, IDs: map[string]string{}}
	fh, err := os.Open(r.path)
	if errors.Is(err, os.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrRegistry, r.path, err)
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, MaxRegistrySize+1))
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrRegistry, r.path, err)
	}
	if len(b) > MaxRegistrySize {
		return nil, fmt.Errorf("%w %s: larger than %d MiB", ErrRegistry, r.path, MaxRegistrySize>>20)
	}
	// A damaged registry is an error, never a fresh start: that would
	// give new packages IDs already published.
	if err := json.Unmarshal(b, f); err != nil {
		return nil, fmt.Errorf("%w %s: damaged (%v); repair or restore it", ErrRegistry, r.path, err)
	}
	if f.Next == nil {
		f.Next = map[string]int{}
	}
	if f.IDs == nil {
		f.IDs = map[string]string{}
	}
	return f, nil
}
