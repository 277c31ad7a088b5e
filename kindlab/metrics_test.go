package kindlab_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/clusterkit/clusterkit/conformance/upstream/kubectltest"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"
)

// checkLabMetrics asserts that metrics.k8s.io answers on the lab: NodeMetrics for every node
// and PodMetrics for the named pods of default, through the metrics clientset and (where the
// kubectl of clusterkit's Kubernetes version) kubectl top node and kubectl top pod -A.
func checkLabMetrics(ctx context.Context, t *testing.T, rc *rest.Config, kubeconfig string, nodes, pods []string) {
	t.Helper()
	mc := metricsclient.NewForConfigOrDie(rc)
	deadline := time.Now().Add(90 * time.Second)
	for {
		var missing []string
		for _, n := range nodes {
			if m, err := mc.MetricsV1beta1().NodeMetricses().Get(ctx, n, metav1.GetOptions{}); err != nil || m.Usage.Memory().IsZero() {
				missing = append(missing, "node "+n)
			}
		}
		for _, p := range pods {
			if m, err := mc.MetricsV1beta1().PodMetricses("default").Get(ctx, p, metav1.GetOptions{}); err != nil || len(m.Containers) == 0 {
				missing = append(missing, "pod "+p)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics.k8s.io has no metrics for %v", missing)
		}
		time.Sleep(2 * time.Second)
	}
	upstreamKubectl := kubectltest.Path(t)
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"top", "node"}, nodes},
		{[]string{"top", "pod", "-A"}, pods},
	} {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		out, err := exec.CommandContext(cctx, upstreamKubectl, append([]string{"--kubeconfig", kubeconfig}, c.args...)...).CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(c.args, " "), err, out)
		}
		for _, w := range c.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("kubectl %s does not list %s:\n%s", strings.Join(c.args, " "), w, out)
			}
		}
		t.Logf("$ kubectl %s\n%s", strings.Join(c.args, " "), out)
	}
}
