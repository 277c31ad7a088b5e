package podgc

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/clusterkit/clusterkit/reference/controllers/runner"
)

type queue struct{}

func (queue) Add(string)                     {}
func (queue) AddAfter(string, time.Duration) {}

func pod(name, node string, phase corev1.PodPhase, age time.Duration, now time.Time) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name),
			CreationTimestamp: metav1.NewTime(now.Add(-age))},
		Spec:   corev1.PodSpec{NodeName: node},
		Status: corev1.PodStatus{Phase: phase},
	}
}

// TestTerminatedAboveThresholdOldestFirst: with threshold 2 and four terminated pods, the two
// oldest go; running pods are never counted.
func TestTerminatedAboveThresholdOldestFirst(t *testing.T) {
	now := time.Now()
	objs := []*corev1.Pod{
		pod("old", "n", corev1.PodSucceeded, 4*time.Hour, now),
		pod("older", "n", corev1.PodFailed, 5*time.Hour, now),
		pod("new", "n", corev1.PodSucceeded, time.Hour, now),
		pod("newer", "n", corev1.PodFailed, time.Minute, now),
		pod("running", "n", corev1.PodRunning, 9*time.Hour, now),
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}}
	client := fake.NewClientset(node)
	f := informers.NewSharedInformerFactory(client, 0)
	for _, p := range objs {
		if _, err := client.CoreV1().Pods("ns").Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		_ = f.Core().V1().Pods().Informer().GetIndexer().Add(p)
	}
	_ = f.Core().V1().Nodes().Informer().GetIndexer().Add(node)
	clk := clocktesting.NewFakeClock(now)
	ctl, err := New(Config{TerminatedThreshold: 2})(runner.Context{Client: client, Informers: f, Clock: clk, Queue: queue{}, Log: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ctl.Reconcile(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	left, _ := client.CoreV1().Pods("ns").List(context.Background(), metav1.ListOptions{})
	got := map[string]bool{}
	for _, p := range left.Items {
		got[p.Name] = true
	}
	for name, want := range map[string]bool{"old": false, "older": false, "new": true, "newer": true, "running": true} {
		if got[name] != want {
			t.Errorf("pod %s kept = %v, want %v (left: %v)", name, got[name], want, got)
		}
	}
}

// TestOrphanQuarantine: a pod of a missing node survives the first passes and goes once the
// quarantine has passed; an unscheduled terminating pod goes at once.
func TestOrphanQuarantine(t *testing.T) {
	now := time.Now()
	orphan := pod("orphan", "gone", corev1.PodRunning, time.Hour, now)
	unscheduled := pod("unscheduled", "", corev1.PodPending, time.Hour, now)
	ts := metav1.NewTime(now)
	unscheduled.DeletionTimestamp = &ts
	client := fake.NewClientset(orphan, unscheduled)
	f := informers.NewSharedInformerFactory(client, 0)
	_ = f.Core().V1().Pods().Informer().GetIndexer().Add(orphan)
	_ = f.Core().V1().Pods().Informer().GetIndexer().Add(unscheduled)
	clk := clocktesting.NewFakeClock(now)
	ctl, err := New(Config{})(runner.Context{Client: client, Informers: f, Clock: clk, Queue: queue{}, Log: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	exists := func(name string) bool {
		_, err := client.CoreV1().Pods("ns").Get(context.Background(), name, metav1.GetOptions{})
		return err == nil
	}
	if _, err := ctl.Reconcile(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	if !exists("orphan") {
		t.Fatal("the orphan was deleted before its quarantine")
	}
	if exists("unscheduled") {
		t.Error("the unscheduled terminating pod was not deleted")
	}
	clk.Step(DefaultQuarantineTime + DefaultCheckPeriod)
	if _, err := ctl.Reconcile(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	if exists("orphan") {
		t.Error("the orphan outlived its quarantine")
	}
}
