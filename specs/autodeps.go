package specs

import (
	"regexp"

	"gopkg.in/yaml.v3"
)

// AutoDeps are the spec keys for the dependencies the builder generates
// from the packaged files, as rpmbuild's generators do (package
// builder/autodeps). They are top-level keys and apply to every package
// the spec makes (main, subpackages, -debuginfo), as rpm's
// %__requires_exclude macros apply to a whole spec:
//
//	autoreq: false                   # no generated requires (rpm's AutoReq: no)
//	autoprov: false                  # no generated provides (rpm's AutoProv: no)
//	requires_exclude: ^libfoo\.so    # drop generated requires matching (%__requires_exclude)
//	provides_exclude: ^perl\(        # drop generated provides matching (%__provides_exclude)
//	requires_exclude_from: ^/usr/share/doc/   # no requires from these paths
//	provides_exclude_from: ^/usr/lib64/plugins/ # no provides from these paths
//
// The patterns are POSIX extended regular expressions as Go's
// regexp.CompilePOSIX reads them (no back-references), matched unanchored
// against "NAME [OP VERSION]" or against the packaged path.
type AutoDeps struct {
	NoAutoReq, NoAutoProv                    bool
	RequiresExclude, ProvidesExclude         *regexp.Regexp
	RequiresExcludeFrom, ProvidesExcludeFrom *regexp.Regexp
}

// maxPattern bounds an exclude pattern.
const maxPattern = 4096

func (p *parser) autoDeps(root *yaml.Node, r *raw, s *Spec) {
	s.AutoDeps.NoAutoReq = r.AutoReq != nil && !*r.AutoReq
	s.AutoDeps.NoAutoProv = r.AutoProv != nil && !*r.AutoProv
	for _, x := range []struct {
		key string
		val string
		dst **regexp.Regexp
	}{
		{"requires_exclude", r.ReqExcl, &s.AutoDeps.RequiresExclude},
		{"provides_exclude", r.ProvExcl, &s.AutoDeps.ProvidesExclude},
		{"requires_exclude_from", r.ReqExclFrom, &s.AutoDeps.RequiresExcludeFrom},
		{"provides_exclude_from", r.ProvExclFrom, &s.AutoDeps.ProvidesExcludeFrom},
	} {
		if find(root, x.key) == nil {
			continue
		}
		line := lineOf(root, x.key)
		if x.val == "" {
			p.add(line, x.key, ErrInvalid, "empty pattern (leave the key out to exclude nothing)")
			continue
		}
		if len(x.val) > maxPattern {
			p.add(line, x.key, ErrInvalid, "pattern of %d bytes, the limit is %d", len(x.val), maxPattern)
			continue
		}
		re, err := regexp.CompilePOSIX(x.val)
		if err != nil {
			p.add(line, x.key, ErrInvalid, "%q is not a regular expression: %v", x.val, err)
			continue
		}
		*x.dst = re
	}
}
