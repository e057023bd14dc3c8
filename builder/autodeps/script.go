package autodeps

import "strings"

// scriptRequires is rpm's script.req: from the first line of an executable
// script, the interpreter when it is an absolute path, and the program
// "/usr/bin/env" runs when that is one too. "#!/usr/bin/env bash" requires
// /usr/bin/env only, as rpm 4.18 does.
func scriptRequires(head []byte) []string {
	line := head
	if i := indexNL(line); i >= 0 {
		line = line[:i]
	}
	s := string(line)
	if !strings.HasPrefix(s, "#!") {
		return nil
	}
	rest := strings.TrimLeft(s[2:], " \t\v\f\r")
	var out []string
	if strings.HasPrefix(rest, "/") {
		if w := firstWord(rest); len(w) > 1 {
			out = append(out, w)
		}
	}
	// The env form: any word ending in "/bin/env", blanks, an absolute path.
	w := firstWord(rest)
	if strings.HasSuffix(w, "/bin/env") {
		after := rest[len(w):]
		trimmed := strings.TrimLeft(after, " \t\v\f\r")
		if len(trimmed) < len(after) && strings.HasPrefix(trimmed, "/") {
			// script.req's sed replaces only the matched prefix, so
			// whatever follows the path stays on the line (and rpm
			// then parses it as more dependencies).
			if p := firstWord(trimmed); len(p) > 1 {
				out = append(out, trimmed)
			}
		}
	}
	return out
}

func firstWord(s string) string {
	for i := 0; i < len(s); i++ {
		if isSpace(s[i]) {
			return s[:i]
		}
	}
	return s
}
