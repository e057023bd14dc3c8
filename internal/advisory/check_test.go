package advisory

import "testing"

// TestChecksRefuseWhatXMLCannotHold: a title or bug URL that would make
// updateinfo.xml unreadable (U+FFFE, U+FFFF, invalid UTF-8, controls)
// is refused.
func TestChecksRefuseWhatXMLCannotHold(t *testing.T) {
	for _, s := range []string{"a \uffff", "a \ufffe", "caf\xe9", "a\x00b", "a\nb"} {
		if CheckTitle(s) == "" {
			t.Errorf("title %q accepted", s)
		}
		if CheckBug("https://bugs.example.com/"+s) == "" {
			t.Errorf("bug URL with %q accepted", s)
		}
	}
	for _, s := range []string{"café update", "fix \ufffd", "x"} {
		if m := CheckTitle(s); m != "" {
			t.Errorf("title %q: %s", s, m)
		}
	}
	if m := CheckBug("https://bugs.example.com/show_bug.cgi?id=1"); m != "" {
		t.Error(m)
	}
}
