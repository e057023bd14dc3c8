package sign_test

import (
	"strings"
	"testing"
	"time"

	"github.com/acn-project/acn/internal/sign"
)

func TestStatuses(t *testing.T) {
	a, b := testKeys(t) // a expires in a year, b never
	now := time.Now()
	st := sign.Statuses([]*sign.Key{a, b}, now)
	if len(st) != 2 || st[0].ID != a.ID() || st[0].Expired || st[0].Expiring || st[0].Warning != "" || st[1].Expires != (time.Time{}) {
		t.Fatalf("now: %+v", st)
	}
	soon := a.Expires().Add(-10 * 24 * time.Hour)
	st = sign.Statuses([]*sign.Key{a, b}, soon)
	if !st[0].Expiring || st[0].Expired || !strings.Contains(st[0].Warning, "in 10 days") || st[1].Warning != "" {
		t.Errorf("10 days before: %+v", st[0])
	}
	st = sign.Statuses([]*sign.Key{a}, a.Expires())
	if !st[0].Expired || !strings.Contains(st[0].Warning, "expired") {
		t.Errorf("at expiry: %+v", st[0])
	}
	if _, err := a.Sign([]byte("x"), a.Expires()); err == nil {
		t.Error("signed at the expiry time")
	}
	if _, err := a.Sign([]byte("x"), a.Expires().Add(-time.Second)); err != nil {
		t.Errorf("a second before expiry: %v", err)
	}
}
