package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
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

// maxAttempts is how often a job starts before it is given up: a build
// that was running when the daemon died runs once more, and if that one
// dies too (a build that crashes the daemon, say) it is marked failed, so
// that no input can keep the daemon in a crash loop.
const maxAttempts = 2

// keepJobs is how many finished jobs the state keeps (with their logs);
// older ones are dropped, but what tags were built is remembered.
const keepJobs = 1000

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
	Attempts int       `json:"attempts,omitempty"` // times the build started
	// Network names the packages whose build steps had the network
	// (network: true in their spec).
	Network []string `json:"network,omitempty"`
	// Publishing is what the job was publishing when it last ran.
	Publishing []Published `json:"publishing,omitempty"`
}

// tagRecord is what the daemon remembers of a tag it queued, after the
// job itself may have been dropped: the commit, and whether it failed.
type tagRecord struct {
	Commit string `json:"commit"`
	Failed bool   `json:"failed,omitempty"`
}

// state is the daemon's memory across restarts: recent jobs, and which
// tags were already built. It is saved atomically after each change and
// stays bounded: at most keepJobs finished jobs.
type state struct {
	mu   sync.Mutex
	path string
	dir  string
	Jobs []*Job               `json:"jobs"`
	Next int                  `json:"next"`
	Tags map[string]tagRecord `json:"tags,omitempty"`
	// Releases are the <repo>-release packages built, by repository.
	Releases map[string]releaseRecord `json:"releases,omitempty"`
	byID     map[int]*Job
	// err is the last failure to save, nil once a save succeeds: the
	// daemon keeps serving, and /healthz says so.
	err error
}

func loadState(dir string) (*state, error) {
	s := &state{path: filepath.Join(dir, "state.json"), dir: dir, Next: 1}
	b, err := os.ReadFile(s.path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if err == nil {
		if err := json.Unmarshal(b, s); err != nil {
			return nil, fmt.Errorf("read %s: %w", s.path, err)
		}
	}
	migrate := s.Tags == nil // a state from before tags were recorded
	if migrate {
		s.Tags = map[string]tagRecord{}
	}
	s.byID = map[int]*Job{}
	for _, j := range s.Jobs {
		switch j.Status {
		case Building:
			// A build that was running when the daemon stopped without a
			// shutdown (a crash, kill -9, power loss) is queued again;
			// runJob decides whether it runs (see maxAttempts).
			j.Status = Queued
			j.Started = time.Time{}
		case Queued:
			j.Started = time.Time{}
		}
		if migrate && !j.Manual {
			if r, ok := s.Tags[j.Ref]; !ok || r.Failed {
				s.Tags[j.Ref] = tagRecord{Commit: j.Commit, Failed: j.Status == Failed}
			}
		} else if j.Status == Failed {
			s.finishedLocked(j)
		}
		j.Log = s.logPath(j.ID)
		s.byID[j.ID] = j
	}
	return s, nil
}

func (s *state) logPath(id int) string {
	return filepath.Join(s.dir, "builds", strconv.Itoa(id), "build.log")
}

func itoa(i int) string { return strconv.Itoa(i) }

// saveLocked writes the state; the caller holds s.mu. A failure is kept
// for /healthz and returned.
func (s *state) saveLocked() error {
	s.compactLocked()
	b, err := json.MarshalIndent(s, "", "  ")
	if err == nil {
		err = atomicfile.WriteFile(s.path, b, 0o644)
	}
	if err != nil {
		err = fmt.Errorf("save %s: %w", s.path, err)
	}
	s.err = err
	return err
}

// compactLocked drops the oldest finished jobs beyond keepJobs, and their
// logs; the tags they built stay known.
func (s *state) compactLocked() {
	finished := 0
	for _, j := range s.Jobs {
		if j.Status == Succeeded || j.Status == Failed {
			finished++
		}
	}
	if finished <= keepJobs {
		return
	}
	drop := finished - keepJobs
	kept := s.Jobs[:0]
	for _, j := range s.Jobs { // oldest first
		if drop > 0 && (j.Status == Succeeded || j.Status == Failed) {
			drop--
			delete(s.byID, j.ID)
			os.RemoveAll(filepath.Dir(j.Log))
			continue
		}
		kept = append(kept, j)
	}
	clear(s.Jobs[len(kept):])
	s.Jobs = kept
}

// addLocked records a new job.
func (s *state) addLocked(j *Job) {
	s.Jobs = append(s.Jobs, j)
	s.byID[j.ID] = j
	if !j.Manual {
		s.Tags[j.Ref] = tagRecord{Commit: j.Commit}
	}
}

// knownLocked reports whether a tag was queued before: at the same commit
// (whatever came of it), or at another commit by a job that did not fail.
// A tag that moved after a failed build is built again; one that moved
// after a build that published is not (see movedLocked).
func (s *state) knownLocked(ref, commit string) bool {
	r, ok := s.Tags[ref]
	return ok && (r.Commit == commit || !r.Failed)
}

// movedLocked reports the commit a known tag was built from when it now
// points elsewhere.
func (s *state) movedLocked(ref, commit string) (string, bool) {
	r, ok := s.Tags[ref]
	if ok && r.Commit != commit && !r.Failed {
		return r.Commit, true
	}
	return "", false
}

// finishedLocked records the outcome of a tag's job.
func (s *state) finishedLocked(j *Job) {
	if j.Manual {
		return
	}
	if r, ok := s.Tags[j.Ref]; ok && r.Commit == j.Commit {
		r.Failed = j.Status == Failed
		s.Tags[j.Ref] = r
	}
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

// job returns a copy of one job.
func (s *state) job(id int) (Job, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.byID[id]
	if !ok {
		return Job{}, false
	}
	return *j, true
}

// saveErr is the last failure to write the state, if the last write failed.
func (s *state) saveErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}
