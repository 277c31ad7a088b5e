package kindlab_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/clusterkit/clusterkit/cri/images"
	"github.com/clusterkit/clusterkit/cri/testimage/behavior"
	"github.com/clusterkit/clusterkit/kindlab"
)

// privilegedNamespace makes a namespace whose pods may use the node's namespaces and files
// (the lab enforces Pod Security's baseline level elsewhere).
func privilegedNamespace(ctx context.Context, t *testing.T, client kubernetes.Interface, name string) {
	t.Helper()
	_, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name,
		Labels: map[string]string{"pod-security.kubernetes.io/enforce": "privileged"}}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	// Pods are admitted once the ServiceAccount controller has made the namespace's default.
	for {
		_, err := client.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		if err == nil {
			return
		}
		if !apierrors.IsNotFound(err) || ctx.Err() != nil {
			t.Fatalf("the default ServiceAccount of namespace %s: %v", name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkNodeContainer looks at node n from a pod on it with the node's PID and network
// namespaces and its root file system at /host, as a user would with kubectl exec: the node
// is a container of its own — its hostname is the node's name, its PID 1 is the node's init
// (not the machine's), its root file system is the node image, and its cgroup limits are the
// capacity the node reports (cpu millicores as the CFS quota over a 100 ms period, memory).
func checkNodeContainer(ctx context.Context, t *testing.T, client kubernetes.Interface, n kindlab.Node, cpuMilli, memory int64) {
	ns := "node-view"
	privilegedNamespace(ctx, t, client, ns)
	files := []string{"/proc/sys/kernel/hostname", "/host/sys/fs/cgroup/memory/memory.limit_in_bytes",
		"/host/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/host/sys/fs/cgroup/cpu/cpu.cfs_period_us", "/host/etc/os-release", "/proc/1/cmdline"}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "view-" + n.Name},
		Spec: corev1.PodSpec{NodeName: n.Name, HostPID: true, HostNetwork: true, RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{Name: "c", Image: behavior.TestImage, Command: []string{behavior.TestBinary},
				Args:         append([]string{"cat"}, files...),
				VolumeMounts: []corev1.VolumeMount{{Name: "root", MountPath: "/host", ReadOnly: true}}}},
			Volumes: []corev1.Volume{{Name: "root", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}}}
	if _, err := client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for {
		p, err := client.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Status.Phase == corev1.PodFailed {
			t.Fatalf("the pod reading node %s's files failed: %+v", n.Name, p.Status)
		}
		if p.Status.Phase == corev1.PodSucceeded {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the pod reading node %s's files did not finish: %+v", n.Name, p.Status)
		}
		time.Sleep(200 * time.Millisecond)
	}
	b, err := client.CoreV1().Pods(ns).GetLogs(pod.Name, &corev1.PodLogOptions{}).DoRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	lines := strings.Split(out, "\n")
	if len(lines) < 5 {
		t.Fatalf("node %s's files: got %q", n.Name, out)
	}
	want := []string{n.Name, fmt.Sprint(memory), fmt.Sprint(cpuMilli * 100), "100000"}
	for i, w := range want {
		if strings.TrimSpace(lines[i]) != w {
			t.Errorf("node %s: %s is %q, want %q", n.Name, files[i], lines[i], w)
		}
	}
	if !strings.Contains(out, `PRETTY_NAME="clusterkit lab node"`) {
		t.Errorf("node %s: its root file system is not the node image (/etc/os-release):\n%s", n.Name, out)
	}
	if !strings.Contains(out, "lab\x00node-agent\x00") {
		t.Errorf("node %s: PID 1 seen with the node's PID namespace is not the node's init:\n%q", n.Name, out)
	}
}

// checkNodeFailure kills node name's container — everything in it dies at once, as when a
// machine fails — and expects the cluster to handle it: the Node stops being Ready and a
// Deployment's pod that ran there (tolerating the node's loss for 0 s) runs on another node.
func checkNodeFailure(ctx context.Context, t *testing.T, client kubernetes.Interface, lab *kindlab.Lab, name string) {
	var failed kindlab.Node
	for _, n := range lab.Nodes { // as the lab records it now (its PID changes when it restarts)
		if n.Name == name {
			failed = n
		}
	}
	zero := int64(0)
	createServeDeployment(ctx, t, client, "survivor", 1, func(spec *corev1.PodSpec) {
		spec.TerminationGracePeriodSeconds = &zero
		spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{
			Weight: 100, Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{
				Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{failed.Name}}}}}}}}
		spec.Tolerations = []corev1.Toleration{
			{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &zero},
			{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &zero}}
	})
	runningOn := func(match func(node string) bool) (string, bool) {
		pods, err := client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=survivor"})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil && match(p.Spec.NodeName) {
				return p.Name, true
			}
		}
		return "", false
	}
	waitUntil(ctx, t, "the survivor pod Running on "+failed.Name, 2*time.Minute, func() bool {
		_, ok := runningOn(func(n string) bool { return n == failed.Name })
		return ok
	})
	start := time.Now()
	if err := syscall.Kill(failed.PID, syscall.SIGKILL); err != nil {
		t.Fatalf("killing node container %s (pid %d): %v", failed.Name, failed.PID, err)
	}
	waitUntil(ctx, t, "node "+failed.Name+" no longer Ready after its container was killed", 3*time.Minute, func() bool {
		n, err := client.CoreV1().Nodes().Get(ctx, failed.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				return c.Status != corev1.ConditionTrue
			}
		}
		return false
	})
	t.Logf("node %s not Ready %s after its container was killed", failed.Name, time.Since(start).Round(time.Second))
	waitUntil(ctx, t, "the survivor pod Running on another node", 3*time.Minute, func() bool {
		_, ok := runningOn(func(n string) bool { return n != failed.Name })
		return ok
	})
	t.Logf("its pod Running on another node %s after the kill", time.Since(start).Round(time.Second))
}

// checkNodeAddRemove adds a shaped worker to the running lab (lab node add): it must become
// Ready with its capacity, label and taint, and run a Deployment's pods selected onto it; then
// removes it (lab node remove): the pods are evicted and run again elsewhere once the
// Deployment no longer requires the node, the Node object is gone and so is its namespace.
func checkNodeAddRemove(ctx context.Context, t *testing.T, client kubernetes.Interface, lab *kindlab.Lab) {
	shape, err := kindlab.NodeShape(map[string]string{"example.com/added": "yes"}, []string{"example.com/added=yes:PreferNoSchedule"}, "1", "1Gi", "")
	if err != nil {
		t.Fatal(err)
	}
	// An image loaded before the node joins is imported by it too.
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	var archive bytes.Buffer
	if err := images.WriteOCIArchive(&archive, map[string]v1.Image{"example.com/loaded-before-join:v1": img}); err != nil {
		t.Fatal(err)
	}
	if err := lab.ImportImages(ctx, archive.Bytes(), t.Logf); err != nil {
		t.Fatalf("lab load: %v", err)
	}
	n, err := lab.AddNode(ctx, shape, func(format string, args ...any) { t.Logf(format, args...) })
	if err != nil {
		t.Fatalf("lab node add: %v", err)
	}
	if log, err := os.ReadFile(filepath.Join(lab.Dir, "logs", n.Name+".log")); err != nil || !strings.Contains(string(log), "example.com/loaded-before-join:v1") {
		t.Errorf("the added node did not import the image loaded into the lab before it joined (%v); its log:\n%s", err, log)
	}
	node, err := client.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if q := node.Status.Capacity[corev1.ResourceMemory]; q.String() != "1Gi" || node.Labels["example.com/added"] != "yes" || len(node.Spec.Taints) != 1 {
		t.Errorf("added node %s: memory capacity %s, labels %v, taints %v; want 1Gi, example.com/added=yes and one taint", n.Name, q.String(), node.Labels, node.Spec.Taints)
	}
	createServeDeployment(ctx, t, client, "on-added", 2, func(spec *corev1.PodSpec) {
		spec.NodeSelector = map[string]string{"example.com/added": "yes"}
	})
	running := func(on func(string) bool) int {
		pods, err := client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=on-added"})
		if err != nil {
			t.Fatal(err)
		}
		c := 0
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil && on(p.Spec.NodeName) {
				c++
			}
		}
		return c
	}
	waitUntil(ctx, t, "two pods Running on the added node", 2*time.Minute, func() bool {
		return running(func(name string) bool { return name == n.Name }) == 2
	})
	// Let the pods go anywhere, then retire the node: they must be evicted and come back
	// on the nodes that stay.
	patch := []byte(`{"spec":{"template":{"spec":{"nodeSelector":null}}}}`)
	if _, err := client.AppsV1().Deployments("default").Patch(ctx, "on-added", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := lab.RemoveNode(ctx, n.Name, func(format string, args ...any) { t.Logf(format, args...) }); err != nil {
		t.Fatalf("lab node remove: %v", err)
	}
	if _, err := client.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Node %s after lab node remove: %v, want NotFound", n.Name, err)
	}
	if _, err := os.Stat("/run/netns/" + n.NetNS); err == nil {
		t.Errorf("namespace %s of the removed node left", n.NetNS)
	}
	waitUntil(ctx, t, "the removed node's pods Running on other nodes", 2*time.Minute, func() bool {
		return running(func(name string) bool { return name != n.Name }) == 2
	})
	if err := client.AppsV1().Deployments("default").Delete(ctx, "on-added", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
}

// waitUntil polls done every 500 ms until it holds, failing the test after timeout.
func waitUntil(ctx context.Context, t *testing.T, what string, timeout time.Duration, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !done() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// checkStopStart stops the lab (every node container, state kept) and starts it again: the
// lab must report itself stopped, then come back with every node Ready and the pods that ran
// before (web-1, web-2, bound to their nodes) Running and Ready again.
func checkStopStart(ctx context.Context, t *testing.T, client kubernetes.Interface, lab *kindlab.Lab) {
	if err := lab.Stop(ctx, t.Logf); err != nil {
		t.Fatalf("lab stop: %v", err)
	}
	if lab.Running() || !lab.Stopped {
		t.Errorf("a stopped lab: Running %v, Stopped %v", lab.Running(), lab.Stopped)
	}
	if err := lab.Start(ctx, t.Logf); err != nil {
		t.Fatalf("lab start: %v", err)
	}
	if !lab.Running() {
		t.Error("a started lab must be running")
	}
	waitUntil(ctx, t, "web-1 and web-2 Running and Ready after lab start", 2*time.Minute, func() bool {
		for _, name := range []string{"web-1", "web-2"} {
			p, err := client.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
			if err != nil || p.Status.Phase != corev1.PodRunning {
				return false
			}
			ready := false
			for _, c := range p.Status.Conditions {
				ready = ready || (c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue)
			}
			if !ready {
				return false
			}
		}
		return true
	})
}

// createServeDeployment creates Deployment name in namespace default: replicas pods labelled
// app=NAME of the test image serving its host name, their spec shaped by shape.
func createServeDeployment(ctx context.Context, t *testing.T, client kubernetes.Interface, name string, replicas int32, shape func(*corev1.PodSpec)) {
	t.Helper()
	labels := map[string]string{"app": name}
	spec := corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: behavior.TestImage, Command: []string{behavior.TestBinary},
		Args: []string{"serve-hostname", "--port", "8080"}}}}
	if shape != nil {
		shape(&spec)
	}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec}}}
	if _, err := client.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// buildClusterkit builds the clusterkit executable into dir.
func buildClusterkit(ctx context.Context, tb testing.TB, dir string) string {
	tb.Helper()
	bin := filepath.Join(dir, "clusterkit")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/clusterkit/clusterkit/cmd/clusterkit").CombinedOutput(); err != nil {
		tb.Fatalf("building clusterkit: %v\n%s", err, out)
	}
	return bin
}

// checkHostPort runs a pod with a hostPort on node n (the CNI portmap plugin's iptables rules
// inside the node container) and reads its answer from the machine at the node's address.
func checkHostPort(ctx context.Context, t *testing.T, client kubernetes.Interface, n kindlab.Node) {
	ns := "node-view"
	privilegedNamespace(ctx, t, client, ns)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "hostport"},
		Spec: corev1.PodSpec{NodeName: n.Name, Containers: []corev1.Container{{Name: "c", Image: behavior.TestImage,
			Command: []string{behavior.TestBinary}, Args: []string{"serve-hostname", "--port", "8080"},
			Ports: []corev1.ContainerPort{{ContainerPort: 8080, HostPort: 54322}}}}}}
	if _, err := client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	url := "http://" + n.IP + ":54322/"
	waitUntil(ctx, t, "the hostPort pod answering at "+url, 2*time.Minute, func() bool {
		resp, err := hc.Get(url)
		if err != nil {
			return false
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		return string(b) == "hostport"
	})
}
