package apiserver

import (
	"net/http"
	"net/http/pprof"
	"strings"
)

// serveProfiling serves /debug/pprof/ as kube-apiserver does with --profiling: the index, the
// named profiles (heap, goroutine, allocs, block, mutex, threadcreate), cmdline, a CPU profile
// (?seconds=N), symbol and an execution trace. `go tool pprof` reads them through an
// authenticated client, e.g.
//
//	kubectl get --raw '/debug/pprof/profile?seconds=30' > cpu.pprof
func serveProfiling(w http.ResponseWriter, r *http.Request) {
	switch strings.TrimPrefix(strings.TrimSuffix(r.URL.Path, "/"), "/debug/pprof") {
	case "/cmdline":
		pprof.Cmdline(w, r)
	case "/profile":
		pprof.Profile(w, r)
	case "/symbol":
		pprof.Symbol(w, r)
	case "/trace":
		pprof.Trace(w, r)
	default:
		// The index, or the named profile its last path element names.
		pprof.Index(w, r)
	}
}
