// Package tooltest runs the real command-line tools (rpm, createrepo_c,
// dnf, ...) from tests: a failure fails the test with everything the tool
// said, so no test passes by not running the tool.
package tooltest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Run runs name with args and returns its standard output.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// FilePackage makes a noarch package holding one file with content, and
// the given extra provides, with the real rpmbuild (no automatic
// dependencies), and returns its path.
func FilePackage(t testing.TB, name, version, file, content string, provides ...string) string {
	t.Helper()
	top := t.TempDir()
	var prov string
	for _, p := range provides {
		prov += "Provides: " + p + "\n"
	}
	spec := fmt.Sprintf(`Name: %s
Version: %s
Release: 1
Summary: test package
License: MIT
BuildArch: noarch
AutoReqProv: no
%s
%%description
A test package.

%%install
mkdir -p %%{buildroot}%s
printf '%%s' '%s' > %%{buildroot}%s
chmod 0755 %%{buildroot}%s

%%files
%s
`, name, version, prov, filepath.Dir(file), strings.ReplaceAll(content, "'", `'\''`), file, file, file)
	specFile := filepath.Join(top, name+".spec")
	if err := os.WriteFile(specFile, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	Run(t, "rpmbuild", "-bb", "--quiet", "--define", "_topdir "+top, "--define", "_binary_payload w9.gzdio", specFile)
	return filepath.Join(top, "RPMS", "noarch", name+"-"+version+"-1.noarch.rpm")
}

// StandIn builds, with rpmbuild, a package named standin that provides
// what rpms require from outside themselves (libc's sonames and symbol
// versions, rtld(GNU_HASH), interpreters): what the host's glibc and
// tools would provide, so that dnf can install rpms into an empty root.
func StandIn(t testing.TB, rpms ...string) string {
	t.Helper()
	provided := map[string]bool{}
	var requires []string
	for _, rpm := range rpms {
		for _, l := range strings.Split(Run(t, "rpm", "-qp", "--qf", "[%{PROVIDENAME}\n][%{FILENAMES}\n]", rpm), "\n") {
			provided[l] = true
		}
		for _, l := range strings.Split(Run(t, "rpm", "-qp", "--qf", "[%{REQUIRENAME}\n]", rpm), "\n") {
			if l != "" && !strings.HasPrefix(l, "rpmlib(") && !strings.HasPrefix(l, "(") {
				requires = append(requires, l)
			}
		}
	}
	slices.Sort(requires)
	requires = slices.Compact(requires)
	requires = slices.DeleteFunc(requires, func(r string) bool { return provided[r] })
	return FilePackage(t, "standin", "1", "/usr/share/standin/README", "stand-in\n", requires...)
}

// StandInRepo makes a dnf repository (a directory with repodata) holding
// StandIn(rpms) and returns a .repo file section for it, named standin.
func StandInRepo(t testing.TB, rpms ...string) string {
	t.Helper()
	dir := t.TempDir()
	Run(t, "cp", StandIn(t, rpms...), dir)
	Run(t, "createrepo_c", "-q", dir)
	return "[standin]\nname=standin\nbaseurl=file://" + dir + "\ngpgcheck=0\n"
}
