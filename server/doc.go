// Package server is the last room of acn: the daemon that turns git tags
// into published packages and serves them.
//
// A [Server] watches a spec repository (polling, and on a webhook), builds
// every new tag that matches its pattern (package builder), adds the RPMs
// to its repositories and publishes them (package repo), and serves the
// repositories over HTTP to yum and dnf, with a web index, a JSON API,
// health and Prometheus metrics. A failed build keeps its log and changes
// nothing published; the server keeps serving throughout.
//
// Plain downloads of repository files are read and answered by a small
// HTTP/1.1 front (front_linux.go, on Linux unless the config turns it
// off); every other request is net/http's. Both serve a repository file
// from one decision (serve_file.go).
//
// A Server owns its own http.ServeMux and uses no globals; several can run
// in one process. Its methods are safe for concurrent use.
package server
