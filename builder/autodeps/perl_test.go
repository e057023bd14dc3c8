package autodeps

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

var perlSamples = []string{
	"#!/usr/bin/perl\nuse strict;\nuse warnings;\nuse Foo::Bar 1.2;\nuse Foo::Bar 1.10;\nrequire Baz;\n  require Indented;\nuse 5.010;\nuse v5.36;\nuse 5.006_001;\n",
	"#!/usr/bin/perl\nuse base qw(Alpha Beta);\nuse parent 'Gamma';\nuse parent -norequire, 'Delta';\nuse lib '/opt/lib';\nrequire '/abs/path.pl';\nrequire \"Foo/Bar.pm\";\nuse POSIX qw(floor);\nuse Data::Dumper ();\n",
	"#!/usr/bin/perl\nmy $x = <<EOT;\nuse Hidden;\nEOT\nuse Visible;\nprint <<\"END\";\nuse AlsoHidden;\nEND\nuse AfterPrint;\n",
	"#!/usr/bin/perl\n=head1 NAME\n\nuse InPod;\n\n=cut\nuse AfterPod;\n__END__\nuse AfterEnd;\n",
	"#!/usr/bin/perl\nmy $s = \"open string\nuse InString;\nclose\";\nuse AfterString;\nmy $q = q{\nuse InQ;\n};\nuse AfterQ;\n",
	"#!/usr/bin/perl\nour $RPM_Requires = \"extra(one) extra(two)\";\nuse Zed 0;\nuse Zed 2;\nuse Zed 1.5.1;\nuse Ver 1.002003;\nuse Ver 1.2.4;\n",
	"#!/usr/bin/perl\nuse Foo\nuse Bar ;\nuse\tTabbed;\nuse of;\nuse Thing::ph.ph;\nuse 'Quoted';\n",
	"#!/usr/bin/perl\n=over\nuse InOver;\n=back\nuse AfterOver;\n=pod\nuse Unclosed;\n",
}

var pmSamples = []string{
	"package Foo::Bar;\nour $VERSION = '1.23';\n1;\n",
	"package Foo 2.0;\npackage Foo::Inner { }\npackage main;\n$Foo::VERSION = \"3.1\";\n",
	"package A;\n# package Commented;\n=head1 X\npackage InPod;\n=cut\npackage B;\n$VERSION = '$Revision: 1.5 $';\nmy $x = <<\"EOT\";\npackage InHeredoc;\nEOT\npackage C v1.2.3;\n__END__\npackage D;\n",
	"package E;\n$E::VERSION = 7;\nour $RPM_Provides = 'x(1) y(2)';\n",
	"package F;\nmy $h = <<'END';\nnever closed\n",
}

// TestPerlAgainstPerlProv runs rpm's perl.prov and autodeps on .pm files.
func TestPerlAgainstPerlProv(t *testing.T) {
	requireTools(t, "/usr/lib/rpm/perl.prov", "perl")
	dir := t.TempDir()
	var files []string
	for i, s := range pmSamples {
		p := filepath.Join(dir, "s"+string(rune('a'+i))+".pm")
		must(t, os.WriteFile(p, []byte(s), 0o644))
		files = append(files, p)
	}
	for _, g := range []string{"/usr/share/perl5/*/*.pm", "/usr/share/perl/5.*/*.pm", "/usr/share/perl/5.*/*/*.pm", "/usr/lib/x86_64-linux-gnu/perl*/5.*/*.pm"} {
		m, _ := filepath.Glob(g)
		files = append(files, m[:min(len(m), 40)]...)
	}
	nonEmpty := 0
	for _, p := range files {
		data, err := os.ReadFile(p)
		must(t, err)
		// perl.prov may die (rpmbuild then takes what it printed).
		want, _ := runGenerator(t, p, "/usr/lib/rpm/perl.prov")
		got := perlProvides(data)
		if len(want) > 0 {
			nonEmpty++
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s:\n got %q\n perl.prov %q", p, got, want)
		}
	}
	if nonEmpty < len(files)/2 {
		t.Errorf("only %d of %d files had provides", nonEmpty, len(files))
	}
}

// TestPerlAgainstPerlReq runs rpm's perl.req and autodeps on Perl
// scripts and modules: the samples above and the host's.
func TestPerlAgainstPerlReq(t *testing.T) {
	requireTools(t, "/usr/lib/rpm/perl.req", "perl")
	dir := t.TempDir()
	var files []string
	for i, s := range perlSamples {
		p := filepath.Join(dir, "s"+string(rune('a'+i)))
		must(t, os.WriteFile(p, []byte(s), 0o755))
		files = append(files, p)
	}
	for _, g := range []string{"/usr/share/perl5/*/*.pm", "/usr/share/perl/5.*/*.pm", "/usr/share/perl/5.*/*/*.pm", "/usr/lib/x86_64-linux-gnu/perl*/5.*/*.pm"} {
		m, _ := filepath.Glob(g)
		files = append(files, m[:min(len(m), 40)]...)
	}
	for _, p := range []string{"/usr/bin/cpan", "/usr/bin/perldoc", "/usr/bin/prove", "/usr/bin/pod2man", "/usr/bin/c_rehash", "/usr/bin/dpkg-parsechangelog"} {
		if _, err := os.Stat(p); err == nil {
			files = append(files, p)
		}
	}
	if len(files) < len(perlSamples)+20 {
		t.Fatalf("only %d Perl files", len(files))
	}
	nonEmpty := 0
	for _, p := range files {
		data, err := os.ReadFile(p)
		must(t, err)
		want, err := runGenerator(t, p, "/usr/lib/rpm/perl.req")
		if err != nil {
			t.Errorf("perl.req %s: %v", p, err)
			continue
		}
		if len(want) > 0 {
			nonEmpty++
		}
		if got := perlRequires(data); !slices.Equal(got, want) {
			t.Errorf("%s:\n got %q\n perl.req %q", p, got, want)
		}
	}
	if nonEmpty < len(files)/2 {
		t.Errorf("only %d of %d files had requires", nonEmpty, len(files))
	}
}
