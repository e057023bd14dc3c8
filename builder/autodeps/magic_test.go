package autodeps

import (
	"bytes"
	"compress/gzip"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// magicSamples are contents whose type libmagic decides from the bytes.
func magicSamples() []string {
	s := []string{
		"", "x", "\n", "x = 1\n", "plain\n", "no newline", "caf\xc3\xa9\n", "caf\xe9\n", "\xef\xbb\xbfbom\n",
		"a\r\nb\r\n", "a\rb\r", "a\r\nb\n", "esc\x1b[0m\n", "over\bstrike\n", strings.Repeat("y", 301) + "\n",
		"\x00\x01\x02", "import os\n", "from os import path\n", "import numpy as n\n",
		"class A:\n    pass\n", "class A(B):\n", "def f():\n    pass\n", "def f(a, b):\n", "def f(a=1):\n",
		"try:\n    x\nexcept E:\n    y\n", "try:\n    x\nfinally:\n    y\n",
		"if __name__ == '__main__':\n    main()\n", "def __init__(self):\n",
		"#!\n", "#!/usr/bin/env\n", "#!/usr/bin/env foo bar\n", "#!/bin/env bash\n", "#!/usr/bin/env -S bash -e\n",
		"#!/bin/sh\n\x00\x01\xff\n", "#!/usr/bin/python3\n\x00\x01\xff\n", "#!/usr/bin/perl\n\x00\xff\n",
		"#!/bin/sh\r\necho\r\n", "#!/bin/sh\necho caf\xc3\xa9\n", "#!/bin/sh\necho caf\xe9\n",
		"#!/usr/bin/node\r\necho\r\n", "#!/bin/sh\n" + strings.Repeat("0", 500) + "\n",
		"<?xml version=\"1.0\"?>\n<component/>\n", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"x\"/>\n",
		"<!DOCTYPE html>\n<p>x</p>\n", "hello\n<a href=\"x\">y</a>\n", "<html>\n</html>\n", "<?xml version='1.1'?>\n<x/>\n",
		"<!-- c -->\n<x/>\n", "<!DOCTYPE foo>\n<x/>\n", "<?xml version=\"1.0\"?>\n<!DOCTYPE html PUBLIC \"x\">\n<html/>\n",
		"text <TITLE>t</TITLE>\n", "<?xml  version=\"1.0\"?>\n<x/>\n", "<svg>\n</svg>\n", "<?xml version=\"1.0\"?>\n" + strings.Repeat("<a/>", 100) + "\n",
		"<table border=1>\n", "<!doctype   HTML>\n", "x <!-- y -->\n",
	}
	for _, l := range []string{"/bin/sh", "/usr/bin/sh", "/bin/csh", "/bin/ksh", "/usr/bin/ksh", "/bin/tcsh",
		"/usr/bin/tcsh", "/bin/zsh", "/usr/bin/env zsh", "/bin/ash", "/bin/bash", "/usr/bin/bash",
		"/usr/local/bin/bash", "/usr/bin/env bash", "/usr/bin/env  bash", "/bin/gawk", "/usr/bin/gawk",
		"/usr/bin/awk", "/usr/bin/fish", "/usr/bin/tclsh", "/usr/bin/php", "/usr/bin/node",
		"/usr/bin/env node", "/usr/bin/lua", "/usr/bin/lua5.4", "/usr/bin/env lua", "/usr/bin/perl",
		"/usr/bin/perl5.36", "/usr/bin/perl -w", "/usr/bin/env perl", "/usr/bin/env /usr/bin/perl",
		"/usr/bin/python", "/usr/bin/python3.11", "/usr/bin/env python3", "/usr/bin/ruby",
		"/usr/bin/env ruby", "/usr/bin/tcl", "/usr/bin/wish", "/usr/bin/env julia", "/bin/shx",
		"/bin/sh -e", "/opt/bin/tool", "/usr/bin/make -f", "/usr/bin/env /bin/sh"} {
		s = append(s, "#!"+l+"\necho\n", "#! "+l+"\necho\n")
	}
	return s
}

func gz(s string, level int, name string, mtime time.Time, os byte) string {
	var b bytes.Buffer
	w, _ := gzip.NewWriterLevel(&b, level)
	w.Name, w.ModTime, w.OS = name, mtime, os
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

func imageSamples() []string {
	var out []string
	for _, img := range []image.Image{
		image.NewRGBA(image.Rect(0, 0, 16, 16)), image.NewGray(image.Rect(0, 0, 3, 7)),
		image.NewPaletted(image.Rect(0, 0, 5, 5), color.Palette{color.Black, color.White}), image.NewNRGBA64(image.Rect(0, 0, 2, 2)),
	} {
		var b bytes.Buffer
		png.Encode(&b, img)
		out = append(out, b.String())
		b.Reset()
		gif.Encode(&b, img, nil)
		out = append(out, b.String())
	}
	return out
}

func compressedSamples() []string {
	man := ".TH FOO 1\n.SH NAME\nfoo \\- does foo\n"
	return []string{
		gz(man, 9, "", time.Time{}, 3), gz(man, 6, "", time.Time{}, 3), gz(man, 1, "", time.Time{}, 3),
		gz(man, 9, "foo.1", time.Unix(1700000000, 0), 3), gz("plain\n", 9, "", time.Time{}, 3),
		gz("\x00\x01\x02", 9, "", time.Time{}, 3), gz("", 9, "", time.Time{}, 3), gz("x", 9, "", time.Time{}, 255),
		gz(".\\\" comment\n.TH X\n", 9, "", time.Time{}, 3), gz("#!/bin/sh\necho\n", 9, "", time.Time{}, 0),
		gz("<?xml version=\"1.0\"?>\n<x/>\n", 9, "", time.Time{}, 11),
		gz(man, 9, "", time.Time{}, 3)[:30],
		".TH FOO 1\n", ".\\\" c\n", "'\\\" t\n", "text\n.SH NAME\n", "text\n.sh\n",
		".B1 x\n", ".a1\n", ".1a\n", ".abc\n", "x\n.ab\tz\n", ".TH\r\n", ".TH", "x\n.TH",
		strings.Repeat("line\n", 19) + ".SH x\n", strings.Repeat("line\n", 20) + ".SH x\n",
		strings.Repeat("line\n", 19) + ".SH\n", strings.Repeat("line\n", 19) + ".SH\n\n", strings.Repeat("line\n", 19) + ".SH\ny",
		strings.Repeat("y", 2000) + "\n.SH x\n", strings.Repeat("y", 1590) + "\n.SH x\n", strings.Repeat("y", 1596) + "\n.SH x\n",
		strings.Repeat("x\n\n", 15) + ".SH x\n", strings.Repeat("x\n\n\n", 10) + ".SH x\n", strings.Repeat("x\n\n", 19) + ".SH\n",
		strings.Repeat("\n", 30) + ".SH x\n", "a\rb\r.SH x\r", "a\r\n.SH x\r\n", strings.Repeat("a\r\n", 25) + ".SH x\r\n",
		strings.Repeat("a\r", 25) + "\n.SH x\n",
	}
}

// TestMagicAgainstFile checks the types autodeps gives text, data and
// "#!" files against libmagic itself (the file command, with the
// decompression rpm asks for).
func TestMagicAgainstFile(t *testing.T) {
	requireTools(t, "file")
	dir := t.TempDir()
	samples := append(append(magicSamples(), compressedSamples()...), imageSamples()...)
	args := []string{"-b", "-z"}
	for i, s := range samples {
		p := filepath.Join(dir, strconv.Itoa(i))
		must(t, os.WriteFile(p, []byte(s), 0o644))
		args = append(args, p)
	}
	out, err := exec.Command("file", args...).Output()
	must(t, err)
	want := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(want) != len(samples) {
		t.Fatalf("file gave %d lines for %d files", len(want), len(samples))
	}
	for i, s := range samples {
		if got := contentType([]byte(s), ""); got != want[i] {
			t.Errorf("%q:\n got %q\n file %q", s, got, want[i])
		}
	}
}
