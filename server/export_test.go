package server

// SetBuildHook makes f run as each job starts building (tests only).
func SetBuildHook(s *Server, f func(ref string)) { s.buildHook = f }
