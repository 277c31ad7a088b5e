package controllers_test

import (
	"testing"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/controllers/inprocess"
)

// TestControllerConformance runs the controller specs against the reference
// controllers on the in-process API server, in virtual time.
func TestControllerConformance(t *testing.T) {
	conformance.RunControllers(t, inprocess.Harness(inprocess.Options{Log: t.Logf}))
}
