package proxy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/utils/ptr"

	"github.com/clusterkit/clusterkit/cri/containerd"
	"github.com/clusterkit/clusterkit/cri/images"
	"github.com/clusterkit/clusterkit/cri/testimage/behavior"
	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/controllers"
	"github.com/clusterkit/clusterkit/reference/kubelet/localnode"
	"github.com/clusterkit/clusterkit/reference/proxy"
	"github.com/clusterkit/clusterkit/reference/proxy/netlab"
	"github.com/clusterkit/clusterkit/reference/scheduler"
	"github.com/clusterkit/clusterkit/reference/store/memory"
)

// TestEndToEndOnContainerd is the Done-when of the Services issue with real containers: a
// Deployment of the test image behind a NodePort Service, on a node whose containerd, pods and
// proxy rules live in a lab network namespace, is reachable at its ClusterIP from another pod
// and at its NodePort on the node's address. Needs root and containerd; set
// CLUSTERKIT_PROXY_E2E=1 to run it (it builds the test images: ~20 s).
func TestEndToEndOnContainerd(t *testing.T) {
	if os.Getenv("CLUSTERKIT_PROXY_E2E") == "" {
		t.Skip("set CLUSTERKIT_PROXY_E2E=1 to run the end-to-end test on containerd")
	}
	if why := netlab.Supported(); why != "" {
		t.Skip(why)
	}
	if err := containerd.Available(); err != nil {
		t.Skipf("real containers unavailable: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	lab, err := netlab.New(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lab.Close() })

	imgs, err := images.BuildAll(ctx, images.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var archive bytes.Buffer
	if err := images.WriteOCIArchive(&archive, imgs); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "ckpe")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	const podSubnet, gateway = "10.91.0.0/24", "10.91.0.1"
	inst, err := containerd.Start(ctx, containerd.Config{Dir: dir, Bridge: "ckpe0", Subnet: podSubnet, NetNS: lab.NSPath(), LeaveIPForward: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = inst.Stop(context.Background()) })
	if _, err := inst.Import(ctx, &archive); err != nil {
		t.Fatal(err)
	}

	store := memory.New()
	srv, err := apiserver.New(apiserver.Config{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); _ = srv.Close(); _ = store.Close() })
	rc := &rest.Config{Host: ts.URL, QPS: -1}
	client := kubernetes.NewForConfigOrDie(rc)

	runCtx, stopAll := context.WithCancel(ctx)
	sched, err := scheduler.New(rc, scheduler.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cm, err := controllers.New(controllers.Config{RESTConfig: rc, Controllers: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	nodeIP := netip.MustParseAddr(gateway)
	px, err := proxy.New(rc, "node-1", proxy.Options{
		Dataplane: proxy.NewNFTables(proxy.NFTablesOptions{NetNSPath: lab.NSPath()}),
		NodeIPs:   []netip.Addr{nodeIP},
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}, 3)
	for _, run := range []func(context.Context) error{sched.Run, cm.Run, px.Run} {
		go func() { _ = run(runCtx); done <- struct{}{} }()
	}
	t.Cleanup(func() {
		stopAll()
		for i := 0; i < 3; i++ {
			<-done
		}
	})
	node, err := localnode.Start(ctx, rc, localnode.Config{Name: "node-1", Dir: dir + "/node", Runtime: inst.Endpoint()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(node.Close)

	labels := map[string]string{"app": "web"}
	container := corev1.Container{
		Name: "web", Image: behavior.TestImage, Command: []string{"/ckimage"}, Args: []string{"serve-hostname", "--port", "8080"},
		// No HTTP readiness probe: the kubelet runs in this process's network namespace and
		// cannot reach pod IPs inside the lab; a running container is ready.
		ImagePullPolicy: corev1.PullIfNotPresent,
	}
	_, err = client.AppsV1().Deployments("default").Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To(int32(2)), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{container}}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := client.CoreV1().Services("default").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: labels,
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	clientPod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "client"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{
		Name: "c", Image: behavior.TestImage, Command: []string{"/ckimage"}, Args: []string{"pause"}, ImagePullPolicy: corev1.PullIfNotPresent,
	}}}}
	if _, err := client.CoreV1().Pods("default").Create(ctx, clientPod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// The backends' hostnames are their pod names.
	var backends []string
	poll(t, ctx, "2 ready web pods", func() bool {
		pods, err := client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return false
		}
		backends = backends[:0]
		for _, p := range pods.Items {
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
					backends = append(backends, p.Name)
				}
			}
		}
		if len(backends) != 2 && ctx.Err() == nil && time.Until(deadline(ctx)) < time.Second {
			for _, p := range pods.Items {
				t.Logf("pod %s: node %q phase %s conditions %+v containers %+v", p.Name, p.Spec.NodeName, p.Status.Phase, p.Status.Conditions, p.Status.ContainerStatuses)
			}
		}
		return len(backends) == 2
	})

	ns := sandboxNetNS(t, ctx, node, "client")
	// Workaround (test only): cri/containerd's CNI config gives pods no route beyond their
	// bridge, so the client pod gets one for the service CIDR via its gateway.
	if out, err := exec.CommandContext(ctx, "nsenter", "--net="+ns, "ip", "route", "add", apiserver.DefaultServiceCIDR, "via", gateway).CombinedOutput(); err != nil {
		t.Fatalf("adding the service route in the client pod: %v: %s", err, out)
	}
	get := func(addr string) (string, error) {
		var conn net.Conn
		if err := netlab.InNS(ns, func() error {
			var err error
			conn, err = net.DialTimeout("tcp", addr, 2*time.Second)
			return err
		}); err != nil {
			return "", err
		}
		c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{
			DialContext: func(context.Context, string, string) (net.Conn, error) { return conn, nil }, DisableKeepAlives: true,
		}}
		resp, err := c.Get("http://" + addr + "/")
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	for _, target := range []string{
		net.JoinHostPort(svc.Spec.ClusterIP, "80"),
		net.JoinHostPort(gateway, fmt.Sprint(svc.Spec.Ports[0].NodePort)),
	} {
		seen := map[string]int{}
		poll(t, ctx, "answers from both web pods at "+target, func() bool {
			body, err := get(target)
			if err != nil {
				return false
			}
			if body != backends[0] && body != backends[1] {
				t.Fatalf("%s answered %q, not a web pod (%v)", target, body, backends)
			}
			seen[body]++
			return len(seen) == 2
		})
		t.Logf("%s from the client pod: %v", target, seen)
	}
}

func deadline(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

func poll(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for {
		if cond() {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// sandboxNetNS finds the network namespace path of a pod's sandbox from containerd's verbose
// sandbox status.
func sandboxNetNS(t *testing.T, ctx context.Context, node *localnode.Node, pod string) string {
	t.Helper()
	var path string
	poll(t, ctx, "the sandbox of pod "+pod, func() bool {
		list, err := node.Runtime().ListPodSandbox(ctx, &runtimeapi.PodSandboxFilter{State: &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_READY}})
		if err != nil {
			return false
		}
		for _, sb := range list {
			if sb.Metadata.GetName() != pod {
				continue
			}
			st, err := node.Runtime().PodSandboxStatus(ctx, sb.Id, true)
			if err != nil {
				return false
			}
			var info struct {
				RuntimeSpec struct {
					Linux struct {
						Namespaces []struct{ Type, Path string } `json:"namespaces"`
					} `json:"linux"`
				} `json:"runtimeSpec"`
			}
			if json.Unmarshal([]byte(st.Info["info"]), &info) != nil {
				return false
			}
			for _, n := range info.RuntimeSpec.Linux.Namespaces {
				if n.Type == "network" && strings.TrimSpace(n.Path) != "" {
					path = n.Path
					return true
				}
			}
		}
		return false
	})
	return path
}
