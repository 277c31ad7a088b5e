package storeconformance_test

import (
	"os"
	"strings"
	"testing"
)

// TestDocsShowThisExample keeps docs/store-conformance.md and this example
// in step: the page must contain store_test.go verbatim.
func TestDocsShowThisExample(t *testing.T) {
	page, err := os.ReadFile("../../store-conformance.md")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("store_test.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), string(example)) {
		t.Fatal("docs/store-conformance.md no longer shows docs/examples/storeconformance/store_test.go verbatim: paste the file into the page")
	}
}
