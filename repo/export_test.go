package repo

// SetFailpoint makes step of an Add fail (or, with a function that kills
// the process, stop there) until the returned function is called.
func SetFailpoint(fn func(step string) error) (restore func()) {
	old := failpoint
	failpoint = fn
	return func() { failpoint = old }
}

// SetMaxUnsized bounds metadata files without a recorded size in Verify.
func SetMaxUnsized(n int64) (restore func()) {
	old := maxUnsized
	maxUnsized = n
	return func() { maxUnsized = old }
}
