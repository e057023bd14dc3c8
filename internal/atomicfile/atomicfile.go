// Package atomicfile replaces files so that a reader sees the old file or
// the whole new one, never a part, and a crash leaves one or the other:
// the content goes to a temporary file in the same directory, which is
// fsynced and renamed over the target, and the directory is fsynced.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write replaces name with what write puts into the file it is given. The
// new file has mode perm. On error name is untouched.
func Write(name string, perm os.FileMode, write func(*os.File) error) error {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), name); err != nil {
		return err
	}
	return SyncDir(dir)
}

// WriteFile replaces name with data.
func WriteFile(name string, data []byte, perm os.FileMode) error {
	return Write(name, perm, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
}

// SyncDir makes the directory's entries (a rename into it) durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Rename moves oldname to newname, both in one directory, and makes the
// move durable.
func Rename(oldname, newname string) error {
	if err := os.Rename(oldname, newname); err != nil {
		return err
	}
	return SyncDir(filepath.Dir(newname))
}
