package server

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/acn-project/acn/internal/atomicfile"
)

// Job states.
const (
	Queued    = "queued"
	Building  = "building"
	Succeeded = "succeeded"
	Failed    = "failed"
)

// Job is one build of one ref.
type Job struct {
	ID       int       `json:"id"`
	Ref      string    `json:"ref"`
	Commit   string    `json:"commit,omitempty"`
	Package  string    `json:"package,omitempty"`
	Version  string    `json:"version,omitempty"`
	Status   string    `json:"status"`
	Error    string    `json:"error,omitempty"`
	Queued   time.Time `json:"queued"`
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
	RPMs     []string  `json:"rpms,omitempty"` // repo/file published
	Log      string    `json:"-"`              // path of the build log
	Manual   bool      `json:"manual,omitempty"`
}

// state is the daemon's memory across restarts: every job, and so which
// tags were already built. It is saved atomically after each change.
type state struct {
	mu   sync.Mutex
	path string
	Jobs []*Job `json:"jobs"`
	Next int    `json:"next"`
}

func loadState(dir string) (*state, error) {
	s := &state{path: filepath.Join(dir, "state.json"), Next: 1}
	b, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, err
	}
	for _, j := range s.Jobs {
		// A build that was running when the daemon stopped runs again.
		if j.Status == Building || j.Status == Queued {
			j.Status = Queued
			j.Started = time.Time{}
		}
		j.Log = filepath.Join(dir, "builds", itoa(j.ID), "build.log")
	}
	return s, nil
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// saveLocked writes the state; the caller holds s.mu.
func (s *state) saveLocked() error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(s.path, b, 0o644)
}

// known reports whether a ref already has a job that is not failed, or a
// failed one for the same commit (a moved tag builds again).
func (s *state) knownLocked(ref, commit string) bool {
	for _, j := range s.Jobs {
		if j.Ref == ref && !j.Manual && (j.Status != Failed || j.Commit == commit) {
			return true
		}
	}
	return false
}

func (s *state) snapshot() []Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Job, len(s.Jobs))
	for i, j := range s.Jobs {
		out[i] = *j
	}
	sort.Slice(out, func(i, k int) bool { return out[i].ID > out[k].ID })
	return out
}
