package kubecontrollermanager_test

import (
	"flag"
	"os"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/controllers/nodeipam"

	kubecontrollermanager "github.com/clusterkit/clusterkit/peers/kube-controller-manager"
)

func TestMain(m *testing.M) {
	switch v := os.Getenv("KUBE_CONTROLLER_MANAGER_LOGS"); v {
	case "":
		klog.SetLogger(logr.Discard())
	default: // a number: that verbosity
		fs := flag.NewFlagSet("klog", flag.ContinueOnError)
		klog.InitFlags(fs)
		_ = fs.Set("v", v)
	}
	os.Exit(m.Run())
}

// TestKubeControllerManagerConformance runs the controller specs against the real
// kube-controller-manager v1.37.2 on clusterkit's API server.
func TestKubeControllerManagerConformance(t *testing.T) {
	conformance.RunControllers(t, kubecontrollermanager.Harness(kubecontrollermanager.Options{
		ClusterCIDR: nodeipam.DefaultClusterCIDR,
	}))
}
