package kindlab_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/cri/testimage/behavior"
	"github.com/clusterkit/clusterkit/kindlab"
	"github.com/clusterkit/clusterkit/reference/harness"
)

func TestCreateRejectsBadConfigs(t *testing.T) {
	cases := []struct {
		name string
		cfg  kindlab.Config
		want string
	}{
		{"name with capitals", kindlab.Config{Name: "CI"}, "DNS label"},
		{"name too long", kindlab.Config{Name: strings.Repeat("a", 21)}, "DNS label"},
		{"too many nodes", kindlab.Config{Name: "ci", Nodes: 51}, "1 to 50 nodes"},
		{"IPv6 service range", kindlab.Config{Name: "ci", ServiceCIDR: "fd00::/108"}, "IPv4"},
		{"missing image archive", kindlab.Config{Name: "ci", ImageArchive: "/nonexistent/images.tar"}, "images build"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := kindlab.Create(context.Background(), c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Create(%+v) = %v, want an error mentioning %q", c.cfg, err, c.want)
			}
		})
	}
}

// TestLabServesAcrossNodes creates a 2-node lab with the clusterkit binary built from this
// tree, checks pod-to-Service traffic across nodes and a NodePort reached from the machine,
// runs the API and proxy specs against it as a live cluster, and deletes it, checking that
// nothing is left. Needs root and containerd (scripts/install-containerd.sh).
func TestLabServesAcrossNodes(t *testing.T) {
	ctx, dir, bin, name := labTest(t, "ckt", 15*time.Minute)
	// Two workers from a configuration file, the second shaped: its own labels, taint and capacity.
	cfg, err := kindlab.ParseFile([]byte(`apiVersion: clusterkit.io/v1alpha1
kind: Lab
name: ` + name + `
nodes:
- role: worker
- role: worker
  labels: {example.com/shape: small}
  taints: ["example.com/small=yes:PreferNoSchedule"]
  cpu: "1"
  memory: 2Gi
`))
	if err != nil {
		t.Fatal(err)
	}
	// The pods' images from the built executable itself, as outside the source tree (the
	// other lab tests build them from source).
	cfg.Dir, cfg.Binary, cfg.ImagesFromBinary = filepath.Join(dir, "lab"), bin, true
	cfg.Progress = func(format string, args ...any) { t.Logf(format, args...) }
	lab, err := kindlab.Create(ctx, cfg)
	if err != nil {
		t.Fatalf("creating the lab: %v\n%s", err, logs(filepath.Join(dir, "lab", "logs")))
	}
	deleted := false
	defer func() {
		if !deleted {
			_ = lab.Delete(context.Background(), io.Discard)
		}
	}()
	if !lab.Running() {
		t.Fatal("a created lab must be running")
	}
	rc, err := clientcmd.BuildConfigFromFlags("", lab.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	client := kubernetes.NewForConfigOrDie(rc)

	// A pod on each node behind one NodePort Service, and a client pod on node 1.
	node1, node2 := lab.Nodes[0], lab.Nodes[1]
	for i, n := range []kindlab.Node{node1, node2} {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("web-%d", i+1), Labels: map[string]string{"app": "web"}},
			Spec: corev1.PodSpec{NodeName: n.Name, Containers: []corev1.Container{{Name: "c", Image: behavior.TestImage,
				Command: []string{behavior.TestBinary}, Args: []string{"serve-hostname", "--port", "8080"},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromInt32(8080)}}, PeriodSeconds: 1}}}}}
		if _, err := client.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	svc, err := client.CoreV1().Services("default").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The pods answer their names; read them through the Service from the machine, at node 1's
	// NodePort: both must answer (one of them from the other node).
	url := fmt.Sprintf("http://%s:%d/", node1.IP, svc.Spec.Ports[0].NodePort)
	seen := map[string]bool{}
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	for len(seen) < 2 {
		if ctx.Err() != nil {
			t.Fatalf("NodePort %s: answers %v, want web-1 and web-2 (one across nodes)\n%s", url, seen, logs(filepath.Join(lab.Dir, "logs")))
		}
		resp, err := hc.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				seen[string(b)] = true
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !seen["web-1"] || !seen["web-2"] {
		t.Fatalf("NodePort %s answered %v, want web-1 and web-2", url, seen)
	}

	// The seed's kubectl tour, as a user would run it.
	t.Run("tour", func(t *testing.T) { checkTour(ctx, t, lab) })

	// The configuration file's node shape, as describe node shows it.
	t.Run("node shape", func(t *testing.T) { checkNodeShape(ctx, t, client, node1.Name, node2.Name) })

	// Each node is a container: its own hostname, PID 1, root file system, cgroup limits.
	t.Run("node containers", func(t *testing.T) {
		checkNodeContainer(ctx, t, client, node1, 2000, 4<<30)
		checkNodeContainer(ctx, t, client, node2, 1000, 2<<30)
		checkHostPort(ctx, t, client, node2)
	})

	// What a failed CI job uploads: every node's logs and the cluster's state.
	t.Run("export logs", func(t *testing.T) { checkExport(ctx, t, lab) })

	// kubectl top: metrics.k8s.io from the nodes' kubelets.
	checkLabMetrics(ctx, t, rc, lab.Kubeconfig, []string{node1.Name, node2.Name}, []string{"web-1", "web-2"})

	// The suite against the lab: API specs, the proxy specs on node 2 (pods there, the
	// client pod's traffic crossing nothing) — every spec passes but those a live cluster
	// cannot offer: on-demand compaction, restarting the proxy, and webhooks the spec serves on
	// 127.0.0.1 (a live cluster's API server need not reach the test's loopback).
	liveSkips := map[string]bool{
		"api.watch.expired": true, "api.list.compacted-continue": true, "api.compaction.boundary": true, // Compaction
		"proxy.restart.catch-up":     true,                                                                                      // restarting the proxy
		"api.crd.conversion-webhook": true, "api.crd.conversion-webhook-storage": true, "api.crd.conversion-webhook-down": true, // LoopbackWebhooks
		"api.aggregation.proxy-identity": true, "api.aggregation.front-proxy-certificate": true, "api.aggregation.discovery": true, // LoopbackWebhooks
	}
	results := conformance.CheckAPI(ctx, harness.LiveAPI(lab.Kubeconfig))
	results = append(results, conformance.CheckProxy(ctx, harness.LiveProxy(lab.Kubeconfig, node2.Name, netip.Addr{}))...)
	// And every DNS spec, asked from a pod through the lab's cluster DNS (kube-dns 10.96.0.10).
	results = append(results, conformance.CheckDNS(ctx, harness.LiveDNS(lab.Kubeconfig, ""))...)
	for _, r := range results {
		switch {
		case r.Outcome == conformance.Passed:
		case r.Outcome == conformance.Skipped && liveSkips[r.ID]:
		default:
			t.Errorf("%s %s against the lab: %s", r.ID, r.Outcome, r.Message)
		}
	}

	// lab node add / remove: a worker joins, gets pods, is drained and retired.
	t.Run("node add and remove", func(t *testing.T) { checkNodeAddRemove(ctx, t, client, lab) })

	// lab stop / lab start: the nodes shut down and boot again, the cluster's state kept.
	t.Run("stop and start", func(t *testing.T) { checkStopStart(ctx, t, client, lab) })

	// A node container killed is a node failure the cluster handles.
	t.Run("node failure", func(t *testing.T) { checkNodeFailure(ctx, t, client, lab, node1.Name) })

	deleted = true
	if err := lab.Delete(ctx, io.Discard); err != nil {
		t.Fatalf("deleting the lab: %v", err)
	}
	if lab.Running() {
		t.Error("processes of the lab still run after Delete")
	}
	for _, n := range lab.Nodes {
		if _, err := os.Stat("/run/netns/" + n.NetNS); err == nil {
			t.Errorf("namespace %s left after Delete", n.NetNS)
		}
	}
	if out, _ := exec.Command("ip", "link", "show", lab.Bridge).CombinedOutput(); !strings.Contains(string(out), "does not exist") {
		t.Errorf("bridge %s left after Delete: %s", lab.Bridge, out)
	}
	if _, err := os.Stat(lab.Dir); err == nil {
		t.Errorf("lab directory %s left after Delete", lab.Dir)
	}
}

// logs returns the tail of every log file in dir, for failure messages.
func logs(dir string) string {
	var b strings.Builder
	files, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, f := range files {
		data, _ := os.ReadFile(f)
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) > 15 {
			lines = lines[len(lines)-15:]
		}
		fmt.Fprintf(&b, "== %s\n%s\n", f, strings.Join(lines, "\n"))
	}
	return b.String()
}

// checkExport exports a running lab's logs and finds in them each node's agent and containerd
// logs, web-1's container log on node 1, the API server's (a static pod's) on the control-plane
// node, and the pods through the API.
func checkExport(ctx context.Context, t *testing.T, lab *kindlab.Lab) {
	out := t.TempDir()
	if err := lab.ExportLogs(ctx, out, func(format string, args ...any) { t.Logf(format, args...) }); err != nil {
		t.Fatalf("ExportLogs: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(out, "export-errors.txt")); err == nil {
		t.Errorf("a running lab exported with errors:\n%s", b)
	}
	for _, n := range lab.Nodes {
		for _, f := range []string{"agent.log", "containerd.log"} {
			if st, err := os.Stat(filepath.Join(out, n.Name, f)); err != nil || st.Size() == 0 {
				t.Errorf("%s/%s missing or empty (%v)", n.Name, f, err)
			}
		}
	}
	expectGlob := func(pattern string) {
		t.Helper()
		if m, _ := filepath.Glob(filepath.Join(out, pattern)); len(m) == 0 {
			t.Errorf("nothing exported matches %s", pattern)
		}
	}
	expectGlob(lab.Nodes[0].Name + "/pods/default_web-1_*/c/0.log")
	expectGlob(lab.Name + "-control-plane/pods/kube-system_kube-apiserver-*/*/0.log")
	b, err := os.ReadFile(filepath.Join(out, "cluster", "pods.yaml"))
	if err != nil || !strings.Contains(string(b), "name: web-1") || !strings.Contains(string(b), "kind: Pod") {
		t.Errorf("cluster/pods.yaml does not list web-1 as a Pod (%v)", err)
	}
}

// checkNodeShape: the shaped node reports the configured capacity and carries its label and
// taint; the other has the lab's default capacity and neither.
func checkNodeShape(ctx context.Context, t *testing.T, client kubernetes.Interface, plain, shaped string) {
	for _, c := range []struct {
		node           string
		cpu, memory    string
		label, tainted bool
	}{{plain, "2", "4Gi", false, false}, {shaped, "1", "2Gi", true, true}} {
		n, err := client.CoreV1().Nodes().Get(ctx, c.node, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if q := n.Status.Capacity[corev1.ResourceCPU]; q.Cmp(resource.MustParse(c.cpu)) != 0 {
			t.Errorf("node %s cpu capacity %s, want %s", c.node, q.String(), c.cpu)
		}
		if q := n.Status.Capacity[corev1.ResourceMemory]; q.Cmp(resource.MustParse(c.memory)) != 0 {
			t.Errorf("node %s memory capacity %s, want %s", c.node, q.String(), c.memory)
		}
		if got := n.Labels["example.com/shape"] == "small"; got != c.label {
			t.Errorf("node %s labels %v: example.com/shape=small %v, want %v", c.node, n.Labels, got, c.label)
		}
		tainted := false
		for _, taint := range n.Spec.Taints {
			tainted = tainted || (taint.Key == "example.com/small" && taint.Value == "yes" && taint.Effect == corev1.TaintEffectPreferNoSchedule)
		}
		if tainted != c.tainted {
			t.Errorf("node %s taints %v: example.com/small=yes:PreferNoSchedule %v, want %v", c.node, n.Spec.Taints, tainted, c.tainted)
		}
	}
}

// labTest prepares a test that makes a lab: it skips the test where labs cannot run (saying
// why), and returns a context ending after timeout (or with the test), a directory removed
// with the test, a freshly built clusterkit executable in it and a lab name PREFIX-XXXX no
// other run uses.
func labTest(t *testing.T, prefix string, timeout time.Duration) (ctx context.Context, dir, bin, name string) {
	t.Helper()
	if why := kindlab.Unavailable(); why != "" {
		fmt.Printf("skipping %s: %s\n", t.Name(), why)
		t.Skip(why)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	var rb [2]byte
	_, _ = rand.Read(rb[:])
	return ctx, dir, buildClusterkit(ctx, t, dir), prefix + "-" + hex.EncodeToString(rb[:])
}
