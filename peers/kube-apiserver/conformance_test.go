package kubeapiserver_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"

	"github.com/clusterkit/clusterkit/conformance"

	kubeapiserver "github.com/clusterkit/clusterkit/peers/kube-apiserver"
)

// server is the kube-apiserver every test of this binary talks to: Start changes
// process-wide state of kube-apiserver, so there is one, started by TestMain.
var server *kubeapiserver.Server

func TestMain(m *testing.M) {
	if os.Getenv("KUBE_APISERVER_LOGS") == "" {
		klog.SetLogger(logr.Discard())
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "clusterkit-kube-apiserver-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	began := time.Now()
	server, err = kubeapiserver.Start(context.Background(), kubeapiserver.Options{Dir: dir})
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting kube-apiserver %s: %v\n", kubeapiserver.Version, err)
		return 1
	}
	fmt.Printf("kube-apiserver %s on %s, ready in %s\n", kubeapiserver.Version, server.URL, time.Since(began).Round(time.Millisecond))
	if path := os.Getenv("KUBE_APISERVER_KUBECONFIG"); path != "" {
		if err := server.Kubeconfig(path); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	code := m.Run()
	if err := server.Stop(); err != nil && code == 0 {
		fmt.Fprintf(os.Stderr, "stopping kube-apiserver: %v\n", err)
	}
	return code
}

// TestKubeAPIServerAuthConformance runs every auth spec against the real kube-apiserver with
// kubeadm's security flags: the specs must hold on a real control plane.
func TestKubeAPIServerAuthConformance(t *testing.T) {
	conformance.RunAuth(t, server.AuthHarness())
}

// TestKubeAPIServerAPIConformance runs the api specs against the real kube-apiserver, as a
// check of their fairness (not in scripts/test-peers.sh: see the report in doc.go).
func TestKubeAPIServerAPIConformance(t *testing.T) {
	if os.Getenv("KUBE_APISERVER_API_SPECS") == "" {
		t.Skip("set KUBE_APISERVER_API_SPECS=1 to run the api specs against kube-apiserver")
	}
	conformance.RunAPI(t, server.APIHarness())
}

// TestServe keeps the kube-apiserver up for KUBE_APISERVER_SERVE_SECONDS seconds, with
// KUBE_APISERVER_KUBECONFIG written, for measurements by other programs (clusterkit bench api
// --kubeconfig kube=PATH):
//
//	KUBE_APISERVER_KUBECONFIG=/tmp/kube.kubeconfig KUBE_APISERVER_SERVE_SECONDS=900 go test -run TestServe -timeout 20m .
func TestServe(t *testing.T) {
	v := os.Getenv("KUBE_APISERVER_SERVE_SECONDS")
	if v == "" {
		t.Skip("set KUBE_APISERVER_SERVE_SECONDS (and KUBE_APISERVER_KUBECONFIG) to serve for other programs")
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("KUBE_APISERVER_SERVE_SECONDS=%q: %v", v, err)
	}
	select {
	case <-time.After(time.Duration(n) * time.Second):
	case <-t.Context().Done():
	}
}
