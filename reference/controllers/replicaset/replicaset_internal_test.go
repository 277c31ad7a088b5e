package replicaset

import (
	"errors"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func testPod(name, node string, phase corev1.PodPhase, ready bool, created time.Time) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(created)}}
	p.Spec.NodeName = node
	p.Status.Phase = phase
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status, LastTransitionTime: metav1.NewTime(created)}}
	return p
}

func withCost(p *corev1.Pod, cost string) *corev1.Pod {
	p.Annotations = map[string]string{DeletionCostAnnotation: cost}
	return p
}

func withRestarts(p *corev1.Pod, n int32) *corev1.Pod {
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "a"}, {Name: "b", RestartCount: n}}
	return p
}

func TestDeletionOrder(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		pods []*corev1.Pod
		want []string
	}{
		{"unscheduled before scheduled", []*corev1.Pod{
			testPod("running", "n1", corev1.PodRunning, true, t0),
			testPod("unscheduled", "", corev1.PodPending, false, t0),
		}, []string{"unscheduled", "running"}},
		{"pending before running", []*corev1.Pod{
			testPod("running", "n1", corev1.PodRunning, true, t0),
			testPod("pending", "n1", corev1.PodPending, false, t0),
		}, []string{"pending", "running"}},
		{"not ready before ready", []*corev1.Pod{
			testPod("ready", "n1", corev1.PodRunning, true, t0),
			testPod("unready", "n1", corev1.PodRunning, false, t0),
		}, []string{"unready", "ready"}},
		{"lower deletion cost first", []*corev1.Pod{
			withCost(testPod("dear", "n1", corev1.PodRunning, true, t0), "100"),
			withCost(testPod("plain", "n2", corev1.PodRunning, true, t0.Add(time.Minute)), "not a number"),
			withCost(testPod("cheap", "n3", corev1.PodRunning, true, t0), "-5"),
		}, []string{"cheap", "plain", "dear"}},
		{"doubled up first", []*corev1.Pod{
			testPod("alone", "n1", corev1.PodRunning, true, t0.Add(time.Minute)),
			testPod("shared-a", "n2", corev1.PodRunning, true, t0),
			testPod("shared-b", "n2", corev1.PodRunning, true, t0),
		}, []string{"shared-b", "shared-a", "alone"}},
		{"more restarts first", []*corev1.Pod{
			withRestarts(testPod("steady", "n1", corev1.PodRunning, true, t0), 0),
			withRestarts(testPod("flaky", "n2", corev1.PodRunning, true, t0), 3),
		}, []string{"flaky", "steady"}},
		{"newest first", []*corev1.Pod{
			testPod("old", "n1", corev1.PodRunning, true, t0),
			testPod("new", "n1", corev1.PodRunning, true, t0.Add(time.Minute)),
		}, []string{"new", "old"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sort.Stable(newByUsefulness(c.pods))
			var got []string
			for _, p := range c.pods {
				got = append(got, p.Name)
			}
			for i := range c.want {
				if got[i] != c.want[i] {
					t.Fatalf("order %v, want %v", got, c.want)
				}
			}
		})
	}
}

func TestSlowStart(t *testing.T) {
	cases := []struct {
		name        string
		n, failAt   int
		wantCreated int
		wantCalls   int
		wantErr     bool
	}{
		{"all succeed", 10, -1, 10, 10, false},
		{"stops after the failing batch", 10, 2, 2, 3, true}, // batches 1, 2: the 3rd call fails
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var calls atomic.Int32
			created, err := slowStart(c.n, func() error {
				if int(calls.Add(1))-1 == c.failAt {
					return errors.New("boom")
				}
				return nil
			})
			if created != c.wantCreated || int(calls.Load()) != c.wantCalls || (err != nil) != c.wantErr {
				t.Fatalf("created %d calls %d err %v; want %d, %d, error %v", created, calls.Load(), err, c.wantCreated, c.wantCalls, c.wantErr)
			}
		})
	}
}
