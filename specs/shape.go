package specs

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

var typeRaw = reflect.TypeFor[raw]()

// checkShape walks a YAML node alongside the Go type it will decode into and
// reports unknown keys and values of the wrong kind with their line, so
// that the decode that follows cannot fail on structure.
func (p *parser) checkShape(n *yaml.Node, t reflect.Type, field string) {
	if n.Kind == yaml.AliasNode { // refused by checkNodes before
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	name := field
	if name == "" {
		name = "document"
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			p.add(n.Line, field, ErrInvalid, "%s must be a mapping of keys", name)
			return
		}
		known := map[string]reflect.Type{}
		for i := range t.NumField() {
			sf := t.Field(i)
			if tag := strings.Split(sf.Tag.Get("yaml"), ",")[0]; tag != "" && tag != "-" {
				known[tag] = sf.Type
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			sub := k.Value
			if field != "" {
				sub = field + "." + k.Value
			}
			ft, ok := known[k.Value]
			if !ok {
				p.add(k.Line, sub, ErrUnknownKey, "%s", suggest(k.Value, known))
				continue
			}
			p.checkShape(v, ft, sub)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			p.add(n.Line, field, ErrInvalid, "must be a list")
			return
		}
		for i, c := range n.Content {
			p.checkShape(c, t.Elem(), fmt.Sprintf("%s[%d]", field, i))
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			p.add(n.Line, field, ErrInvalid, "must be a mapping")
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			p.checkShape(n.Content[i+1], t.Elem(), field+"."+n.Content[i].Value)
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			p.add(n.Line, field, ErrInvalid, "must be a single value, not a %s", kindName(n))
		}
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
			p.add(n.Line, field, ErrInvalid, "must be true or false")
		}
	case reflect.Uint32:
		if n.Kind != yaml.ScalarNode {
			p.add(n.Line, field, ErrInvalid, "must be a number, not a %s", kindName(n))
			return
		}
		if _, err := strconv.ParseUint(n.Value, 10, 32); err != nil {
			p.add(n.Line, field, ErrInvalid, "%q is not a whole number from 0 to 4294967295", n.Value)
		}
	}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "value"
}

// suggest names the known key closest to an unknown one.
func suggest(key string, known map[string]reflect.Type) string {
	best, bestD := "", 3
	for k := range known {
		if d := distance(key, k); d < bestD || (d == bestD && best != "" && k < best) {
			best, bestD = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf("%q (did you mean %q?)", key, best)
	}
	return strconv.Quote(key)
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
