package rpmver

import "testing"

func TestNames(t *testing.T) {
	for _, c := range []struct{ epoch, evr, nevra string }{
		{"", "1.4.0-1", "appstruct-1.4.0-1.noarch"},
		{"0", "1.4.0-1", "appstruct-1.4.0-1.noarch"},
		{"2", "2:1.4.0-1", "appstruct-2:1.4.0-1.noarch"},
	} {
		if got := EVR(c.epoch, "1.4.0", "1"); got != c.evr {
			t.Errorf("EVR(%q) = %q, want %q", c.epoch, got, c.evr)
		}
		if got := NEVRA("appstruct", c.epoch, "1.4.0", "1", "noarch"); got != c.nevra {
			t.Errorf("NEVRA(%q) = %q, want %q", c.epoch, got, c.nevra)
		}
	}
	if got := FileName("appstruct", "1.4.0", "1", "noarch"); got != "appstruct-1.4.0-1.noarch.rpm" {
		t.Errorf("FileName = %q", got)
	}
}

// The expectations are rpmdev-vercmp's on the same pairs.
func TestCompare(t *testing.T) {
	for _, c := range []struct {
		a, b [3]string
		want int
	}{
		{[3]string{"", "1.0", "1"}, [3]string{"0", "1.0", "1"}, 0},
		{[3]string{"1", "1.0", "1"}, [3]string{"", "2.0", "1"}, 1},
		{[3]string{"", "1.10", "1"}, [3]string{"", "1.9", "1"}, 1},
		{[3]string{"", "1.0~rc1", "1"}, [3]string{"", "1.0", "1"}, -1},
		{[3]string{"", "1.0^git1", "1"}, [3]string{"", "1.0", "1"}, 1},
		{[3]string{"", "1.0", "2.el9"}, [3]string{"", "1.0", "10.el9"}, -1},
		{[3]string{"", "1.0a", "1"}, [3]string{"", "1.0", "1"}, 1},
	} {
		if got := Compare(c.a[0], c.a[1], c.a[2], c.b[0], c.b[1], c.b[2]); got != c.want {
			t.Errorf("Compare(%v, %v) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
