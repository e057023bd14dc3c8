package specs

import (
	"regexp"

	"gopkg.in/yaml.v3"
)

// AutoDeps are the spec keys for the dependencies the builder generates
// from the packaged files, as rpmbuild's generators do (package
// builder/autodeps). At the top level they apply to every package the
// spec makes (main, subpackages, -debuginfo), as rpm's
// %__requires_exclude macros apply to a whole spec; a subpackage (an
// entry of packages:) may set any of them again for itself, as rpm's
// AutoReq: and AutoProv: are set in a %package section:
//
//	autoreq: false                   # no generated requires (rpm's AutoReq: no)
//	autoprov: false                  # no generated provides (rpm's AutoProv: no)
//	requires_exclude: ^libfoo\.so    # drop generated requires matching (%__requires_exclude)
//	provides_exclude: ^perl\(        # drop generated provides matching (%__provides_exclude)
//	requires_exclude_from: ^/usr/share/doc/   # no requires from these paths
//	provides_exclude_from: ^/usr/lib64/plugins/ # no provides from these paths
//
// A subpackage's key replaces the top-level one, for that subpackage
// only; a key it leaves out keeps the top-level value. (rpm's own
// AutoReq: no in the main preamble is the main package's alone; acn's
// top-level keys are the whole spec's.)
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

// rawAutoDeps are the keys' values as decoded, at the top level or in a
// subpackage.
type rawAutoDeps struct {
	autoReq, autoProv                            *bool
	reqExcl, provExcl, reqExclFrom, provExclFrom string
}

func (p *parser) autoDeps(root *yaml.Node, r *raw, s *Spec) {
	s.AutoDeps = p.autoDepsKeys(root, "", rawAutoDeps{r.AutoReq, r.AutoProv, r.ReqExcl, r.ProvExcl, r.ReqExclFrom, r.ProvExclFrom}, AutoDeps{})
}

// autoDepsKeys reads the keys of mapping m, whose fields are named with
// prefix (e.g. "packages[1]."), over base: a key m leaves out keeps
// base's value.
func (p *parser) autoDepsKeys(m *yaml.Node, prefix string, r rawAutoDeps, base AutoDeps) AutoDeps {
	a := base
	if r.autoReq != nil {
		a.NoAutoReq = !*r.autoReq
	}
	if r.autoProv != nil {
		a.NoAutoProv = !*r.autoProv
	}
	leaveOut := "leave the key out to exclude nothing"
	if prefix != "" {
		leaveOut = "leave the key out to keep the top-level one"
	}
	for _, x := range []struct {
		key string
		val string
		dst **regexp.Regexp
	}{
		{"requires_exclude", r.reqExcl, &a.RequiresExclude},
		{"provides_exclude", r.provExcl, &a.ProvidesExclude},
		{"requires_exclude_from", r.reqExclFrom, &a.RequiresExcludeFrom},
		{"provides_exclude_from", r.provExclFrom, &a.ProvidesExcludeFrom},
	} {
		if find(m, x.key) == nil {
			continue
		}
		line, field := lineOf(m, x.key), prefix+x.key
		if x.val == "" {
			p.add(line, field, ErrInvalid, "empty pattern (%s)", leaveOut)
			continue
		}
		if len(x.val) > maxPattern {
			p.add(line, field, ErrInvalid, "pattern of %d bytes, the limit is %d", len(x.val), maxPattern)
			continue
		}
		re, err := regexp.CompilePOSIX(x.val)
		if err != nil {
			p.add(line, field, ErrInvalid, "%q is not a regular expression: %v", x.val, err)
			continue
		}
		*x.dst = re
	}
	return a
}
