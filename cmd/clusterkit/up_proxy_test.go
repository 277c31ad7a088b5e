package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/remotecommand"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/cri/containerd"
	"github.com/clusterkit/clusterkit/cri/testimage/behavior"
	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/harness"
	"github.com/clusterkit/clusterkit/reference/proxy"
)

// TestUpContainerdServesServices runs `up --runtime containerd --nodes 1` (with its proxy) and
// checks that a Deployment behind a NodePort Service answers at its ClusterIP from another
// pod and at its NodePort on the bridge gateway from this process, that an unallocated
// address of the service range is refused, and that the proxy's table is gone after up stops.
func TestUpContainerdServesServices(t *testing.T) {
	if err := containerd.Available(); err != nil {
		fmt.Printf("skipping TestUpContainerdServesServices: real containers unavailable: %v\n", err)
		t.Skipf("real containers unavailable: %v", err)
	}
	dir := t.TempDir()
	o := &upOptions{dataDir: filepath.Join(dir, "data"), kubeconfig: filepath.Join(dir, "kubeconfig"), port: 0,
		nodes: 1, runtime: privateContainerd, proxy: true, serviceCIDR: apiserver.DefaultServiceCIDR}
	client, stop := startUp(t, o)
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	rc, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	poll := func(what string, timeout time.Duration, f func() (bool, error)) {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for {
			ok, err := f()
			if ok {
				return
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				t.Fatalf("%s: not within %s (last error: %v)", what, timeout, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	// The node builds and imports the test images first: give it time.
	poll("node-1 Ready", 4*time.Minute, func() (bool, error) {
		n, err := client.CoreV1().Nodes().Get(ctx, "node-1", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})

	labels := map[string]string{"app": "web"}
	replicas := int32(2)
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "web", Image: behavior.TestImage, Command: []string{behavior.TestBinary},
					Args: []string{"serve-hostname", "--port", "8080"},
				}}},
			},
		},
	}
	if _, err := client.AppsV1().Deployments("default").Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: labels, Ports: []corev1.ServicePort{{
			Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP,
		}}},
	}
	svc, err = client.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	clusterIP, nodePort := svc.Spec.ClusterIP, svc.Spec.Ports[0].NodePort
	if clusterIP == "" || nodePort == 0 {
		t.Fatalf("service not allocated: %+v", svc.Spec)
	}
	clientPod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "client", Namespace: "default"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "c", Image: behavior.TestImage, Command: []string{behavior.TestBinary}, Args: []string{"sleep", "600"},
		}}},
	}
	if _, err := client.CoreV1().Pods("default").Create(ctx, clientPod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	var backends map[string]bool
	poll("2 backend pods and the client pod Running", 3*time.Minute, func() (bool, error) {
		pods, err := client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return false, err
		}
		backends = map[string]bool{}
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "" && p.DeletionTimestamp == nil {
				backends[p.Name] = true
			}
		}
		c, err := client.CoreV1().Pods("default").Get(ctx, "client", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return len(backends) == 2 && c.Status.Phase == corev1.PodRunning, nil
	})
	t.Logf("ClusterIP %s:80, NodePort %d, backends %v", clusterIP, nodePort, backends)

	// sample makes n requests with get and fails at once on an answer no backend gives.
	sample := func(where string, n int, get func() (string, error)) (map[string]int, error) {
		seen := map[string]int{}
		for i := 0; i < n; i++ {
			body, err := get()
			if err != nil {
				return seen, err
			}
			name := strings.TrimSpace(body)
			if !backends[name] {
				t.Fatalf("%s answered %q: not one of the backends %v", where, name, backends)
			}
			seen[name]++
		}
		return seen, nil
	}
	bothSeen := func(where string, get func() (string, error)) {
		t.Helper()
		poll(where+" answers from both backends over 20 requests", 90*time.Second, func() (bool, error) {
			seen, err := sample(where, 20, get)
			if err != nil {
				return false, err
			}
			if len(seen) != 2 {
				return false, fmt.Errorf("answers %v", seen)
			}
			t.Logf("%s: %v", where, seen)
			return true, nil
		})
	}

	fromClient := func(url string) (string, error) {
		return execIn(ctx, client, rc, "default", "client", "c", behavior.TestBinary, "fetch", url, "--timeout", "3s")
	}
	bothSeen("ClusterIP from the client pod", func() (string, error) {
		return fromClient(fmt.Sprintf("http://%s:80/hostname", clusterIP))
	})

	gateway := (&containerd.Config{Subnet: upPodSubnet}).Gateway()
	hc := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	bothSeen("NodePort on the bridge gateway from the host", func() (string, error) {
		resp, err := hc.Get(fmt.Sprintf("http://%s:%d/", gateway, nodePort))
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("status %s", resp.Status)
		}
		return string(b), err
	})

	// An address of the service range that no Service holds is refused at once (the proxy's
	// reject of the service range; the guard route to a portless bridge keeps it from ever
	// following the machine's default route).
	start := time.Now()
	out, err := fromClient("http://10.96.0.2:80/")
	if err == nil || !strings.Contains(out, "connection refused") || time.Since(start) > 2*time.Second {
		t.Fatalf("fetch of an unallocated service address: %q %v after %s; want connection refused at once", out, err, time.Since(start))
	}

	// The proxy specs against this live cluster: pods on node-1, NodePorts at the address the
	// node reports besides 127.0.0.1 (the bridge gateway). The proxy cannot be restarted from
	// here, so the catch-up spec is skipped with that reason; every other spec must pass.
	results := conformance.CheckProxy(ctx, harness.LiveProxy(o.kubeconfig, "", netip.Addr{}))
	t.Logf("proxy specs against up:\n%s", results)
	if failed := results.Failed(); len(failed) > 0 {
		t.Fatalf("proxy specs failed against clusterkit up: %v", failed)
	}
	for _, r := range results {
		if r.Outcome != conformance.Passed && r.ID != "proxy.restart.catch-up" {
			t.Fatalf("proxy spec %s %s against clusterkit up: %s", r.ID, r.Outcome, r.Message)
		}
	}

	_ = client.AppsV1().Deployments("default").Delete(ctx, "web", metav1.DeleteOptions{})
	_ = client.CoreV1().Services("default").Delete(ctx, "web", metav1.DeleteOptions{})
	_ = client.CoreV1().Pods("default").Delete(ctx, "client", metav1.DeleteOptions{})
	stopped = true
	stop()
	dp := proxy.NewNFTables(proxy.NFTablesOptions{Table: upProxyTable("node-1")})
	defer dp.Close()
	if ok, err := dp.TableExists(); err != nil || ok {
		t.Fatalf("after up stopped, table %s exists=%v (%v)", upProxyTable("node-1"), ok, err)
	}
}

// execIn runs argv in a container through the API's exec subresource and returns its stdout
// (with stderr appended when it failed).
func execIn(ctx context.Context, client kubernetes.Interface, cfg *rest.Config, ns, pod, container string, argv ...string) (string, error) {
	req := client.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: argv, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	ex, err := remotecommand.NewSPDYExecutor(cfg, "POST", req.URL())
	if err != nil {
		return "", err
	}
	var out, errOut bytes.Buffer
	ectx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := ex.StreamWithContext(ectx, remotecommand.StreamOptions{Stdout: &out, Stderr: &errOut}); err != nil {
		return out.String() + errOut.String(), fmt.Errorf("exec %q: %w (stderr %q)", argv, err, errOut.String())
	}
	return out.String(), nil
}
