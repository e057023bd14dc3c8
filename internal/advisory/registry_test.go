package advisory

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestRegistry(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "advisories.json")
	a, b := OpenRegistry(path), OpenRegistry(path) // as two processes would
	id, err := a.ID("web", "1.4.1-1", 2026)
	if err != nil || id != "ACN-2026-0001" {
		t.Fatalf("first ID: %q %v", id, err)
	}
	if id, _ := b.ID("web", "1.4.1-1", 2027); id != "ACN-2026-0001" {
		t.Errorf("the same version again: %q", id)
	}
	if id, _ := b.ID("web", "1.4.2-1", 2026); id != "ACN-2026-0002" {
		t.Errorf("next version: %q", id)
	}
	if id, _ := a.ID("tool", "2.1", 2027); id != "ACN-2027-0001" {
		t.Errorf("another year: %q", id)
	}
	if id, ok, err := a.Lookup("web", "1.4.2-1"); id != "ACN-2026-0002" || !ok || err != nil {
		t.Errorf("Lookup: %q %v %v", id, ok, err)
	}
	if _, ok, _ := a.Lookup("web", "9"); ok {
		t.Error("Lookup of an unknown version found one")
	}

	// Concurrent allocations through separate registries of one file:
	// every version one ID, no ID twice.
	var wg sync.WaitGroup
	ids := make([]string, 40)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := OpenRegistry(path)
			id, err := r.ID("p", fmt.Sprint(i%20), 2030)
			if err != nil {
				t.Error(err)
			}
			ids[i] = id
		}()
	}
	wg.Wait()
	seen := map[string]int{}
	for i, id := range ids {
		if j, ok := seen[id]; ok && j%20 != i%20 {
			t.Errorf("%s given to versions %d and %d", id, j%20, i%20)
		}
		seen[id] = i
	}
	if len(seen) != 20 {
		t.Errorf("%d IDs for 20 versions", len(seen))
	}

	// A damaged registry is an error, never a fresh start.
	os.WriteFile(path, []byte("{not json"), 0o644)
	if _, err := a.ID("new", "1", 2026); !errors.Is(err, ErrRegistry) {
		t.Errorf("damaged registry: %v", err)
	}
	if _, err := a.ID("new", "1", 99999); err == nil {
		t.Error("year 99999 accepted")
	}
}

func TestValidate(t *testing.T) {
	good := Advisory{ID: "ACN-2026-0001", Type: Security, Severity: "Low", CVEs: []string{"CVE-2026-12345"},
		Bugs: []string{"https://b.example.com/1"}, Title: "t", Issued: "2026-12-01"}
	if ps := good.Validate(); ps != nil {
		t.Fatalf("valid advisory: %v", ps)
	}
	for name, mod := range map[string]func(a *Advisory){
		"id":             func(a *Advisory) { a.ID = "ACN-26-1" },
		"type":           func(a *Advisory) { a.Type = "other" },
		"no severity":    func(a *Advisory) { a.Severity = "" },
		"severity fixed": func(a *Advisory) { a.Type = Bugfix },
		"cve":            func(a *Advisory) { a.CVEs = []string{"CVE-2026-1"} },
		"bug":            func(a *Advisory) { a.Bugs = []string{"javascript:alert(1)"} },
		"title":          func(a *Advisory) { a.Title = "a\nb" },
		"issued":         func(a *Advisory) { a.Issued = "2026-13-01" },
		"many cves":      func(a *Advisory) { a.CVEs = make([]string, MaxCVEs+1) },
	} {
		a := good
		mod(&a)
		if a.Err() == nil {
			t.Errorf("%s: accepted %+v", name, a)
		}
	}
	if got := CutDescription(string(make([]byte, MaxDescription-1)) + "é"); len(got) != MaxDescription-1 {
		t.Errorf("CutDescription kept %d bytes", len(got))
	}
}

// TestRegistryDamagedNext: a registry whose next numbers fell behind the
// IDs it holds (edited by hand, restored in part) never hands out an ID
// a second time.
func TestRegistryDamagedNext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "advisories.json")
	os.WriteFile(path, []byte(`{"next": {"2026": -3, "2025": 1}, "ids": {"web 1.0-1": "ACN-2026-0001", "web 1.0-2": "ACN-2026-0007", "old 1-1": "ACN-2025-0002", "x 1-1": "junk"}}`), 0o644)
	r := OpenRegistry(path)
	id, err := r.ID("other", "1-1", 2026)
	if err != nil || id != "ACN-2026-0008" {
		t.Errorf("ID = %q, %v; want ACN-2026-0008", id, err)
	}
	if id, err := r.ID("other", "1-1", 2025); err != nil || id != "ACN-2026-0008" {
		t.Errorf("known key: %q, %v", id, err)
	}
	if id, err := r.ID("new", "1-1", 2025); err != nil || id != "ACN-2025-0003" {
		t.Errorf("ID = %q, %v; want ACN-2025-0003", id, err)
	}
}
