package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
)

// TestBenchIdle measures what `clusterkit up` costs while nothing changes: the CPU time of the
// up process (utime+stime from /proc/PID/stat, robust to other load on the machine) over a
// window, first with only the nodes, then with a Deployment's pods all Running. It runs only
// when CLUSTERKIT_BENCH is set:
//
//	CLUSTERKIT_BENCH=1 go test ./cmd/clusterkit -run TestBenchIdle -v -timeout 60m
//
// CLUSTERKIT_IDLE_NODES (default 100) and CLUSTERKIT_IDLE_PODS (default 2000) size the
// cluster, CLUSTERKIT_IDLE_SECONDS (default 60) the window. CLUSTERKIT_IDLE_BASELINE names
// another clusterkit binary (an older commit's `go build -o`) measured the same way in the
// same run, before this tree's, for a side-by-side table.
func TestBenchIdle(t *testing.T) {
	if os.Getenv("CLUSTERKIT_BENCH") == "" {
		t.Skip("benchmark: set CLUSTERKIT_BENCH=1 to run")
	}
	nodes := idleEnvInt("CLUSTERKIT_IDLE_NODES", 100)
	pods := idleEnvInt("CLUSTERKIT_IDLE_PODS", 2000)
	window := time.Duration(idleEnvInt("CLUSTERKIT_IDLE_SECONDS", 60)) * time.Second
	dir := t.TempDir()
	self := filepath.Join(dir, "clusterkit")
	build := exec.Command("go", "build", "-o", self, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building this tree's clusterkit: %v\n%s", err, out)
	}
	type row struct {
		name string
		r    idleResult
	}
	var rows []row
	if base := os.Getenv("CLUSTERKIT_IDLE_BASELINE"); base != "" {
		rows = append(rows, row{"baseline", measureIdle(t, base, filepath.Join(dir, "baseline"), nodes, pods, window)})
	}
	rows = append(rows, row{"this tree", measureIdle(t, self, filepath.Join(dir, "tree"), nodes, pods, window)})
	var b strings.Builder
	fmt.Fprintf(&b, "idle CPU of `up --nodes %d` (simulated runtime), %s windows, %% of one core:\n", nodes, window)
	fmt.Fprintf(&b, "%-10s %12s %16s %12s %14s %10s %10s\n", "binary", "nodes only", "+"+strconv.Itoa(pods)+" pods", "per node", "per 1000 pods", "RSS MiB", "all Running")
	for _, r := range rows {
		perNode := r.r.nodesOnly / float64(nodes)
		perPods := (r.r.withPods - r.r.nodesOnly) / float64(pods) * 1000
		fmt.Fprintf(&b, "%-10s %11.1f%% %15.1f%% %11.3f%% %13.2f%% %10d %10s\n", r.name, r.r.nodesOnly, r.r.withPods, perNode, perPods, r.r.rssMiB, r.r.startup.Round(time.Second))
	}
	t.Log("\n" + b.String())
}

type idleResult struct {
	nodesOnly, withPods float64 // % of one core
	rssMiB              int64
	startup             time.Duration // Deployment created → every pod Running
}

func idleEnvInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// measureIdle starts bin's `up`, measures it idle with the nodes only and then with pods
// Running, and stops it (SIGINT, then its data is removed).
func measureIdle(t *testing.T, bin, dir string, nodes, pods int, window time.Duration) idleResult {
	t.Helper()
	ctx := t.Context()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "up.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, "up", "--port", "0", "--runtime", "sim", "--nodes", strconv.Itoa(nodes),
		"--data-dir", filepath.Join(dir, "data"), "--kubeconfig", kubeconfig)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(2 * time.Minute):
			_ = cmd.Process.Kill()
			<-exited
		}
		_ = os.RemoveAll(filepath.Join(dir, "data"))
	}()
	fail := func(format string, args ...any) {
		t.Helper()
		log, _ := os.ReadFile(logf.Name())
		if len(log) > 4000 {
			log = log[len(log)-4000:]
		}
		t.Fatalf("%s: "+format+"\n%s", append([]any{bin}, append(args, log)...)...)
	}
	poll := func(what string, timeout time.Duration, done func() (bool, error)) {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for {
			ok, err := done()
			if ok {
				return
			}
			select {
			case err := <-exited:
				fail("up exited while waiting for %s: %v", what, err)
			default:
			}
			if time.Now().After(deadline) {
				fail("%s: not within %s (last error: %v)", what, timeout, err)
			}
			time.Sleep(time.Second)
		}
	}
	var client kubernetes.Interface
	poll("the kubeconfig", 2*time.Minute, func() (bool, error) {
		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return false, err
		}
		cfg.QPS, cfg.Burst = 50, 100
		client, err = kubernetes.NewForConfig(cfg)
		return err == nil, err
	})
	poll(fmt.Sprintf("%d Ready nodes", nodes), 10*time.Minute, func() (bool, error) {
		list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		ready := 0
		for _, n := range list.Items {
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		return ready >= nodes, fmt.Errorf("%d of %d Ready", ready, nodes)
	})
	poll("the default ServiceAccount", 2*time.Minute, func() (bool, error) {
		_, err := client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err == nil, err
	})
	pid := cmd.Process.Pid
	settle := 15 * time.Second
	time.Sleep(settle)
	var r idleResult
	r.nodesOnly = cpuOver(t, pid, window)
	t.Logf("%s: %d nodes, no pods: %.1f%% of a core", bin, nodes, r.nodesOnly)

	labels := map[string]string{"app": "idle"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "idle", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(pods)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "c", Image: "clusterkit.local/ckimage:v1", Args: []string{"pause"},
				}}},
			},
		},
	}
	created := time.Now()
	if _, err := client.AppsV1().Deployments("default").Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		fail("creating the Deployment: %v", err)
	}
	poll(fmt.Sprintf("%d Running pods", pods), 60*time.Minute, func() (bool, error) {
		list, err := client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=idle", ResourceVersion: "0"})
		if err != nil {
			return false, err
		}
		running := 0
		for _, p := range list.Items {
			if p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		return running >= pods, fmt.Errorf("%d of %d Running", running, pods)
	})
	r.startup = time.Since(created)
	time.Sleep(settle)
	r.withPods = cpuOver(t, pid, window)
	r.rssMiB = rssMiB(pid)
	t.Logf("%s: %d nodes, %d pods Running (%s after creation): %.1f%% of a core, RSS %d MiB", bin, nodes, pods, r.startup.Round(time.Second), r.withPods, r.rssMiB)
	return r
}

// cpuOver returns the CPU the process pid used over window, in % of one core.
func cpuOver(t *testing.T, pid int, window time.Duration) float64 {
	t.Helper()
	v, err := idleCPU(t.Context(), pid, 0, window)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func rssMiB(pid int) int64 { return procStatusKiB(pid, "VmRSS") / 1024 }
