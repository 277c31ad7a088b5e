package kindlab_test

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/clusterkit/clusterkit/kindlab"
)

// TestHALabSurvivesAControlPlaneLoss makes a lab with three control-plane nodes and kills the
// first one's container while a client keeps creating ConfigMaps through the lab's API
// address: writes must go on succeeding (the load balancer skips the lost API server, etcd
// keeps a quorum of two), no acknowledged write may be lost, and the surviving control plane
// must still act — a Deployment created after the loss gets a Running pod (the scheduler and
// the controller manager of another node hold their Leases).
func TestHALabSurvivesAControlPlaneLoss(t *testing.T) {
	ctx, dir, bin, name := labTest(t, "ckha", 10*time.Minute)
	lab, err := kindlab.Create(ctx, kindlab.Config{Name: name, Nodes: 1, ControlPlanes: 3,
		Dir: filepath.Join(dir, "lab"), Binary: bin, Progress: func(format string, args ...any) { t.Logf(format, args...) }})
	if err != nil {
		t.Fatalf("creating the HA lab: %v\n%s", err, logs(filepath.Join(dir, "lab", "logs")))
	}
	deleted := false
	defer func() {
		if !deleted {
			_ = lab.Delete(context.Background(), io.Discard)
		}
	}()
	if n := len(lab.ControlPlaneNodes()); n != 3 {
		t.Fatalf("%d control-plane nodes, want 3", n)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", lab.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	rc.Timeout = 5 * time.Second
	client := kubernetes.NewForConfigOrDie(rc)

	// The writer: one ConfigMap after the other, each name recorded once acknowledged.
	var mu sync.Mutex
	var acked []string
	var failed int
	var killedAt time.Time
	ackedAfter := 0
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			name := fmt.Sprintf("w-%d", i)
			_, err := client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name},
				Data: map[string]string{"i": name}}, metav1.CreateOptions{})
			mu.Lock()
			if err == nil {
				acked = append(acked, name)
				if !killedAt.IsZero() {
					ackedAfter++
				}
			} else {
				failed++
			}
			mu.Unlock()
			time.Sleep(50 * time.Millisecond)
		}
	}()
	time.Sleep(3 * time.Second)
	lost := lab.ControlPlaneNodes()[0]
	mu.Lock()
	killedAt = time.Now()
	mu.Unlock()
	if err := syscall.Kill(lost.PID, syscall.SIGKILL); err != nil {
		t.Fatalf("killing control-plane node %s (pid %d): %v", lost.Name, lost.PID, err)
	}
	t.Logf("killed control-plane node %s", lost.Name)
	time.Sleep(20 * time.Second)
	close(stop)
	<-done
	mu.Lock()
	t.Logf("writes: %d acknowledged (%d after the loss), %d failed", len(acked), ackedAfter, failed)
	if ackedAfter < 20 {
		t.Errorf("only %d writes acknowledged in the 20 s after a control-plane node was lost", ackedAfter)
	}
	names := append([]string(nil), acked...)
	mu.Unlock()
	list, err := client.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, cm := range list.Items {
		stored[cm.Name] = true
	}
	for _, n := range names {
		if !stored[n] {
			t.Errorf("ConfigMap %s was acknowledged but is not stored", n)
		}
	}

	// The remaining control plane acts: a Deployment created now gets a Running pod.
	createServeDeployment(ctx, t, client, "after-loss", 1, nil)
	waitUntil(ctx, t, "a Running pod of a Deployment created after the loss", 2*time.Minute, func() bool {
		pods, err := client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=after-loss"})
		if err != nil {
			return false
		}
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning {
				return true
			}
		}
		return false
	})

	deleted = true
	if err := lab.Delete(ctx, io.Discard); err != nil {
		t.Fatalf("deleting the lab: %v", err)
	}
	if lab.LoadBalancerPID > 0 && syscall.Kill(lab.LoadBalancerPID, 0) == nil {
		t.Errorf("the load balancer (pid %d) still runs after Delete", lab.LoadBalancerPID)
	}
}
