package kubelet_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/kubelet/kubeletharness"
)

// TestKubeletConformanceSimulated runs the kubelet specs against the
// reference kubelet on the simulated runtime (a fresh API server and node
// per spec; back-off base 1 s), the specs in parallel (go test -parallel at once).
func TestKubeletConformanceSimulated(t *testing.T) {
	o := kubeletharness.Options{}
	if os.Getenv("CLUSTERKIT_KUBELET_LOG") != "" {
		o.Logf = t.Logf
	}
	h := kubeletharness.InProcess(o)
	h.ParallelSpecs = true
	conformance.RunKubelet(t, h)
}

// TestKubeletConformanceContainerd runs the same specs with real containers
// on a private containerd (skipped, with the reason, where containerd, runc
// or the CNI plugins are missing or the test is not root;
// scripts/install-containerd.sh installs them).
func TestKubeletConformanceContainerd(t *testing.T) {
	if why := kubeletharness.ContainerdUnavailable(); why != "" {
		t.Skipf("real containers unavailable: %s", why)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	endpoint, stop, err := kubeletharness.StartContainerd(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	o := kubeletharness.Options{Runtime: endpoint}
	if os.Getenv("CLUSTERKIT_KUBELET_LOG") != "" {
		o.Logf = t.Logf
	}
	conformance.RunKubelet(t, kubeletharness.InProcess(o))
}
