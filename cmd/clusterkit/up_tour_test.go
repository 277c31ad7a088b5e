package main

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/clusterkit/clusterkit/conformance/upstream/kubectltest"
)

// TestUpTour runs the seed's hands-on tour with kubectl against `clusterkit up`: the control
// plane as static pods of the tainted control-plane node, user workloads on the workers only.
func TestUpTour(t *testing.T) {
	dir := t.TempDir()
	o := &upOptions{dataDir: filepath.Join(dir, "data"), kubeconfig: filepath.Join(dir, "kubeconfig"),
		nodes: 2, runtime: "sim", controlPlaneNode: true, podSecurityExempt: []string{"kube-system"}}
	client, stop := startUp(t, o)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// up serves before its workers register (it prints "node … ready" as each does).
	for ready := 0; ready < 3; time.Sleep(100 * time.Millisecond) {
		nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ready = 0
		for _, n := range nodes.Items {
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
	}
	kubectltest.Tour(ctx, t, kubectltest.TourCluster{Kubeconfig: o.kubeconfig, Runtime: "clusterkit-sim://",
		Nodes: []kubectltest.TourNode{{Name: upControlPlaneNodeName(), IP: "127.0.0.1", ControlPlane: true},
			{Name: "node-1", IP: "127.1.0.1"}, {Name: "node-2", IP: "127.1.0.2"}}})
}

// TestUpMirrorPodsTellTheTruth: a control-plane component that fails is a container that exits —
// its mirror pod no longer Ready, the exit in lastState — and that the kubelet restarts,
// counting restarts, and its log is the container's.
func TestUpMirrorPodsTellTheTruth(t *testing.T) {
	dir := t.TempDir()
	fail := make(chan struct{}, 1)
	o := &upOptions{dataDir: filepath.Join(dir, "data"), kubeconfig: filepath.Join(dir, "kubeconfig"),
		controlPlaneNode: true, podSecurityExempt: []string{"kube-system"},
		extraComponents: []upComponent{{name: "flaky", cpu: "10m", run: func(ctx context.Context, log io.Writer) error {
			io.WriteString(log, "flaky starting\n")
			select {
			case <-ctx.Done():
				return nil
			case <-fail:
				return errors.New("flaky lost its lease")
			}
		}}}}
	client, stop := startUp(t, o)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name := "flaky-" + upControlPlaneNodeName()
	var p *corev1.Pod
	waitPod := func(what string, ok func(*corev1.Pod) bool) {
		t.Helper()
		for {
			var err error
			p, err = client.CoreV1().Pods("kube-system").Get(ctx, name, metav1.GetOptions{})
			if err == nil && ok(p) {
				return
			}
			select {
			case <-ctx.Done():
				t.Fatalf("mirror pod %s: %s never seen (err %v, pod status %+v)", name, what, err, p)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	running := func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodRunning && len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].Ready
	}
	waitPod("Running and ready", running)
	fail <- struct{}{}
	waitPod("restarted after the failure", func(p *corev1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].RestartCount >= 1
	})
	last := p.Status.ContainerStatuses[0].LastTerminationState.Terminated
	if last == nil || last.ExitCode != 1 || last.Reason != "Error" {
		t.Errorf("lastState of the restarted component: %+v, want terminated with exit code 1, Error", last)
	}
	waitPod("Running and ready again", running)
}
