package apiserver

import (
	"net/http/httptest"
	"testing"
)

// TestWriteErrorSetsRetryAfter: a Status with RetryAfterSeconds carries the Retry-After header,
// as kube-apiserver writes it, and one without carries none.
func TestWriteErrorSetsRetryAfter(t *testing.T) {
	rec := httptest.NewRecorder()
	writeError(rec, tooLargeResourceVersion(10, 5))
	if rec.Code != 504 || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("too large resourceVersion: code %d, Retry-After %q; want 504 and 1", rec.Code, rec.Header().Get("Retry-After"))
	}
	plain := httptest.NewRecorder()
	writeError(plain, errPlain{})
	if plain.Header().Get("Retry-After") != "" {
		t.Fatalf("a plain error got Retry-After %q", plain.Header().Get("Retry-After"))
	}
}

type errPlain struct{}

func (errPlain) Error() string { return "plain" }
