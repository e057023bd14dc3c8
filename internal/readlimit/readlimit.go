// Package readlimit reads a small file whole (a spec, a groups or comps
// file) when it is a regular file of at most a limit, and never reads or
// holds more than the limit: a file from a user or a repository may be
// a device, a pipe or endless.
package readlimit

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
)

// ErrNotRegular is returned for a directory, device, pipe or the like.
var ErrNotRegular = errors.New("not a regular file")

// TooLargeError is returned for a file over the limit. Size is its size,
// or the limit plus one when it grew while being read.
type TooLargeError struct{ Size, Limit int64 }

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%d bytes, more than %d", e.Size, e.Limit)
}

// FS reads name from fsys, checking it before it is opened: a git object
// store rebuilds a deltified blob in memory on open.
func FS(fsys fs.FS, name string, limit int64) ([]byte, error) {
	fi, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, err
	}
	if err := check(fi, limit); err != nil {
		return nil, err
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return File(f, limit)
}

// File reads the opened file f.
func File(f fs.File, limit int64) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := check(fi, limit); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, &TooLargeError{Size: int64(len(data)), Limit: limit}
	}
	return data, nil
}

func check(fi fs.FileInfo, limit int64) error {
	if !fi.Mode().IsRegular() {
		return ErrNotRegular
	}
	if fi.Size() > limit {
		return &TooLargeError{Size: fi.Size(), Limit: limit}
	}
	return nil
}
