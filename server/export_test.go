package server

// SetBuildHook makes f run as each job starts building (tests only).
func SetBuildHook(s *Server, f func(ref string)) { s.buildHook = f }

// HiddenFromBuilds is what build steps never see.
func (s *Server) HiddenFromBuilds() []string { return s.hiddenFromBuilds() }
