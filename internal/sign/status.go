package sign

import (
	"fmt"
	"time"
)

// WarnBefore is how long before its expiry a key is reported as
// expiring (/healthz warns from then on).
const WarnBefore = 30 * 24 * time.Hour

// Status is a key's state at one moment, for /healthz, /metrics and the
// web index.
type Status struct {
	Info
	Expired bool
	// Expiring: the key expires within WarnBefore.
	Expiring bool
	// Warning is a sentence for an operator when Expired or Expiring.
	Warning string
}

// Statuses reports each key's expiry at now, in the order given.
func Statuses(keys []*Key, now time.Time) []Status {
	out := make([]Status, 0, len(keys))
	for _, k := range keys {
		s := Status{Info: k.Info()}
		switch {
		case k.expires.IsZero():
		case !now.Before(k.expires):
			s.Expired = true
			s.Warning = fmt.Sprintf("signing key %s expired on %s: nothing is signed with it; generate a new key and add it", s.ID, k.expires.UTC().Format(time.RFC3339))
		case k.expires.Sub(now) <= WarnBefore:
			s.Expiring = true
			s.Warning = fmt.Sprintf("signing key %s expires on %s (in %d days): generate a new key and add it", s.ID, k.expires.UTC().Format(time.RFC3339), int(k.expires.Sub(now).Hours()/24))
		}
		out = append(out, s)
	}
	return out
}
