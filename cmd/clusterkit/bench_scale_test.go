package main

import (
	"bytes"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clusterkit/clusterkit/conformance/upstream/kubectltest"
)

// asMainEnv makes this test binary run as clusterkit itself (TestMain): tests that start
// clusterkit as a process of its own, as `bench scale` starts `up`, exec os.Args[0] with it.
const asMainEnv = "CLUSTERKIT_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestBenchScaleSmall runs `bench scale` end to end at a small size: a cluster in a process of
// its own, its nodes Ready, Deployments' pods Running, the figures printed as a table.
func TestBenchScaleSmall(t *testing.T) {
	t.Setenv(asMainEnv, "1") // inherited by the `up` the benchmark starts
	var out, progress bytes.Buffer
	o := scaleOptions{nodes: 3, pods: 12, perDeployment: 5, nodePods: 110, idle: time.Second,
		timeout: 5 * time.Minute, minFreeMiB: 256, dir: t.TempDir(), kubectl: kubectltest.Path(t)}
	err := runScaleBench(t.Context(), &out, &progress, os.Args[0], o)
	t.Logf("progress:\n%s\noutput:\n%s", progress.String(), out.String())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"3 nodes Ready after", "3 Deployments created (12 pods)", "12 pods Running after", "kubectl get pods -A: 16 pods"} {
		if !strings.Contains(progress.String(), want) {
			t.Errorf("progress lacks %q", want)
		}
	}
	for _, row := range []string{"nodes Ready after", "idle, nodes only", "pods Running after", "GET node p50 / p99", "LIST 500 pods p50 / p99", "create p50 / p99", "idle, pods Running", "RSS / peak", "kubectl get pods -A"} {
		if !strings.Contains(out.String(), row) {
			t.Errorf("the table lacks the row %q", row)
		}
	}
}

func TestBenchScaleRejectsPodsThatDoNotFit(t *testing.T) {
	o := scaleOptions{nodes: 2, pods: 300, perDeployment: 100, nodePods: 110}
	err := runScaleBench(t.Context(), &bytes.Buffer{}, &bytes.Buffer{}, "/nonexistent", o)
	if err == nil || !strings.Contains(err.Error(), "do not fit on 2 nodes") {
		t.Fatalf("err = %v, want one saying the pods do not fit", err)
	}
}

func TestBenchScaleRefusesMoreFilesThanAllowed(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Max > 1<<30 {
		t.Skipf("the open-file hard limit (%d) is beyond any size to try", lim.Max)
	}
	pods := int(lim.Max) // one file per pod alone passes the limit
	o := scaleOptions{nodes: pods, pods: pods, perDeployment: 1000, nodePods: 110}
	err := runScaleBench(t.Context(), &bytes.Buffer{}, &bytes.Buffer{}, "/nonexistent", o)
	if err == nil || !strings.Contains(err.Error(), "open files") {
		t.Fatalf("err = %v, want one about open files", err)
	}
}

func TestBenchScaleRefusesAMissingKubectlAtOnce(t *testing.T) {
	o := scaleOptions{nodes: 1, pods: 1, perDeployment: 1, nodePods: 110, kubectl: "/nonexistent/kubectl"}
	err := runScaleBench(t.Context(), &bytes.Buffer{}, &bytes.Buffer{}, "/nonexistent", o)
	if err == nil || !strings.Contains(err.Error(), "--kubectl /nonexistent/kubectl") {
		t.Fatalf("err = %v, want one naming --kubectl", err)
	}
}
