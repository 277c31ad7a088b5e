package apiserver

import "net/http"

// handlerStack is the stack a request's handler goroutine gets up front. An HTTP/2 server runs
// every request in a new goroutine, whose stack starts small; the handler chain (access
// filters, decoding, admission, field management, encoding) is deep, and growing the stack
// step by step copies it again at each doubling (11 % of the CPU of TLS creates in
// BenchmarkCreateAccess). Growing it once, while it is still nearly empty, costs one small
// copy. HTTP/1.1 keeps one goroutine per connection, whose stack stays grown.
const handlerStack = 32 << 10

// withGrownStack runs next with the stack of an HTTP/2 request's goroutine grown to
// handlerStack first.
func withGrownStack(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor >= 2 {
			growStack(r.ProtoMinor)
		}
		next.ServeHTTP(w, r)
	})
}

// growStack needs a frame of handlerStack bytes, which makes the runtime grow the goroutine's
// stack to fit it in one step.
//
//go:noinline
func growStack(i int) byte {
	var frame [handlerStack]byte
	return frame[i&(len(frame)-1)]
}
