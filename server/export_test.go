package server

// PlainHTTP makes s serve every request with net/http alone, for tests
// that compare the front's answers with net/http's.
func PlainHTTP(s *Server) { s.plainHTTP = true }

// ParseHead exposes the front's request parser to the fuzzer.
func ParseHead(b []byte) (repo, rel string, get, close bool, inm, ims string, ok bool) {
	h, ok := parseHead(b)
	return h.repo, h.rel, h.get, h.close, h.inm, h.ims, ok
}
