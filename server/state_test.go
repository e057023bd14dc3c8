package server

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestStateStaysBounded: the state keeps the newest keepJobs finished
// jobs (and their logs), remembers every tag it built, and a reloaded
// state answers the same.
func TestStateStaysBounded(t *testing.T) {
	dir := t.TempDir()
	st, err := loadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := keepJobs + 50
	st.mu.Lock()
	for i := range n {
		j := &Job{ID: st.Next, Ref: "p/v1." + itoa(i), Commit: "c" + itoa(i), Status: Succeeded, Queued: time.Unix(int64(i), 0)}
		if i%10 == 0 {
			j.Status = Failed
		}
		st.Next++
		j.Log = st.logPath(j.ID)
		os.MkdirAll(filepath.Dir(j.Log), 0o755)
		os.WriteFile(j.Log, []byte("log"), 0o644)
		st.addLocked(j)
		st.finishedLocked(j)
	}
	queued := &Job{ID: st.Next, Ref: "q/v1", Commit: "cq", Status: Queued}
	st.Next++
	st.addLocked(queued)
	if err := st.saveLocked(); err != nil {
		t.Fatal(err)
	}
	st.mu.Unlock()
	if len(st.Jobs) != keepJobs+1 {
		t.Errorf("%d jobs kept, want %d", len(st.Jobs), keepJobs+1)
	}
	if _, err := os.Stat(filepath.Dir(st.logPath(1))); !os.IsNotExist(err) {
		t.Errorf("the log of a dropped job is still there: %v", err)
	}
	if _, ok := st.job(n); !ok {
		t.Errorf("the newest job is gone")
	}
	if _, ok := st.job(1); ok {
		t.Errorf("the oldest job is still there")
	}

	re, err := loadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*state{st, re} {
		s.mu.Lock()
		if !s.knownLocked("p/v1.1", "c1") || !s.knownLocked("p/v1.1", "moved") {
			t.Errorf("a dropped job's built tag is no longer known")
		}
		if !s.knownLocked("p/v1.0", "c0") || s.knownLocked("p/v1.0", "moved") {
			t.Errorf("a failed tag: known at its commit, built again when moved")
		}
		if _, moved := s.movedLocked("p/v1.1", "moved"); !moved {
			t.Errorf("a moved built tag is not reported")
		}
		s.mu.Unlock()
	}
	if j, ok := re.job(queued.ID); !ok || j.Status != Queued {
		t.Errorf("queued job after reload: %+v", j)
	}
}

// TestStateMigration: a state written before tags were recorded still
// knows which tags were built.
func TestStateMigration(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "state.json"), []byte(`{"next":4,"jobs":[
		{"id":1,"ref":"a/v1","commit":"c1","status":"succeeded"},
		{"id":2,"ref":"b/v1","commit":"c2","status":"failed"},
		{"id":3,"ref":"main","commit":"c3","status":"succeeded","manual":true}]}`), 0o644)
	st, err := loadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !st.knownLocked("a/v1", "c1") || !st.knownLocked("b/v1", "c2") || st.knownLocked("b/v1", "c9") || st.knownLocked("main", "c3") {
		t.Errorf("migrated tags: %+v", st.Tags)
	}
}
