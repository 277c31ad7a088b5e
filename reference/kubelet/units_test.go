package kubelet

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestBackoffDoublesToCapAndResets(t *testing.T) {
	start := time.Unix(1000, 0)
	b := newBackoff(10*time.Second, 40*time.Second)
	now := start
	var delays []time.Duration
	for i := 0; i < 5; i++ {
		id := string(rune('a' + i))
		remaining, delay := b.wait("pod/c", id, now)
		if remaining != delay {
			t.Fatalf("exit %d: first sight must wait the whole delay, got %s of %s", i, remaining, delay)
		}
		if r, _ := b.wait("pod/c", id, now.Add(delay-time.Second)); r != time.Second {
			t.Fatalf("exit %d: one second before the end %s remain", i, r)
		}
		if r, _ := b.wait("pod/c", id, now.Add(delay)); r != 0 {
			t.Fatalf("exit %d: at the end %s remain", i, r)
		}
		delays = append(delays, delay)
		now = now.Add(delay)
		b.restarted("pod/c", now)
	}
	want := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 40 * time.Second, 40 * time.Second}
	for i := range want {
		if delays[i] != want[i] {
			t.Fatalf("delays %v, want %v", delays, want)
		}
	}
	// A container that ran for more than twice the cap starts over.
	if _, d := b.wait("pod/c", "late", now.Add(81*time.Second)); d != 10*time.Second {
		t.Fatalf("after a long run the delay is %s, want the base", d)
	}
	b.forget([]string{"pod/c"})
	if _, d := b.wait("pod/c", "x", now); d != 10*time.Second {
		t.Fatalf("after forget the delay is %s", d)
	}
}

func TestLinuxResources(t *testing.T) {
	cases := []struct {
		name                  string
		req                   corev1.ResourceRequirements
		shares, quota, memory int64
	}{
		{"best effort", corev1.ResourceRequirements{}, 2, 0, 0},
		{"requests only", corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}}, 512, 0, 0},
		{"limits", corev1.ResourceRequirements{Limits: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("64Mi")}}, 256, 25000, 64 << 20},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := linuxResources(c.req)
			if r.CpuShares != c.shares || r.CpuQuota != c.quota || r.MemoryLimitInBytes != c.memory {
				t.Fatalf("got shares=%d quota=%d memory=%d", r.CpuShares, r.CpuQuota, r.MemoryLimitInBytes)
			}
			if c.quota > 0 && r.CpuPeriod != 100000 {
				t.Fatalf("period %d", r.CpuPeriod)
			}
		})
	}
}

func exited(code int32) *history {
	return &history{latest: &runtimeapi.ContainerStatus{Id: "x", State: runtimeapi.ContainerState_CONTAINER_EXITED, ExitCode: code}}
}

func running() *history {
	return &history{latest: &runtimeapi.ContainerStatus{Id: "r", State: runtimeapi.ContainerState_CONTAINER_RUNNING, StartedAt: 1}}
}

func TestPhase(t *testing.T) {
	cases := []struct {
		name   string
		policy corev1.RestartPolicy
		views  []*history
		want   corev1.PodPhase
	}{
		{"nothing yet", corev1.RestartPolicyAlways, []*history{nil}, corev1.PodPending},
		{"running", corev1.RestartPolicyAlways, []*history{running()}, corev1.PodRunning},
		{"one waiting one running", corev1.RestartPolicyAlways, []*history{running(), nil}, corev1.PodPending},
		{"crash looping", corev1.RestartPolicyAlways, []*history{exited(1)}, corev1.PodRunning},
		{"never, success", corev1.RestartPolicyNever, []*history{exited(0)}, corev1.PodSucceeded},
		{"never, failure", corev1.RestartPolicyNever, []*history{exited(0), exited(3)}, corev1.PodFailed},
		{"never, one still running", corev1.RestartPolicyNever, []*history{exited(3), running()}, corev1.PodRunning},
		{"on failure, success", corev1.RestartPolicyOnFailure, []*history{exited(0)}, corev1.PodSucceeded},
		{"on failure, failure restarts", corev1.RestartPolicyOnFailure, []*history{exited(2)}, corev1.PodRunning},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := &Kubelet{cfg: Config{NodeIP: "127.0.0.1", Clock: clocktesting.NewFakeClock(time.Unix(5000, 0))}, rtName: "fake"}
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Spec: corev1.PodSpec{RestartPolicy: c.policy}}
			view := map[string]*history{}
			for i, h := range c.views {
				name := string(rune('a' + i))
				pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: name})
				if h != nil {
					view[name] = h
				}
			}
			w := newPodWorker(k, pod, false)
			st := w.buildStatus(pod, nil, view)
			if st.Phase != c.want {
				t.Fatalf("phase %s, want %s (%+v)", st.Phase, c.want, st.ContainerStatuses)
			}
			for _, cond := range st.Conditions {
				if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue && st.Phase != corev1.PodRunning {
					t.Fatalf("Ready while %s", st.Phase)
				}
			}
		})
	}
}

// TestKeepExtendedResources: a node status recomputed by the kubelet keeps the extended
// resources someone patched into the node's capacity (allocatable alike), and only those.
func TestKeepExtendedResources(t *testing.T) {
	q := resource.MustParse
	old := &corev1.NodeStatus{Capacity: corev1.ResourceList{
		"example.com/fakecpu": q("1k"), corev1.ResourceCPU: q("64"), "kubernetes.io/something": q("1"),
		"hugepages-2Mi": q("1Gi"), "requests.cpu": q("1"),
	}}
	st := &corev1.NodeStatus{Capacity: corev1.ResourceList{corev1.ResourceCPU: q("2")}, Allocatable: corev1.ResourceList{corev1.ResourceCPU: q("1900m")}}
	keepExtendedResources(old, st)
	want := corev1.ResourceList{corev1.ResourceCPU: q("2"), "example.com/fakecpu": q("1k")}
	if !apiequality.Semantic.DeepEqual(st.Capacity, want) {
		t.Errorf("capacity %v, want %v", st.Capacity, want)
	}
	if a := st.Allocatable["example.com/fakecpu"]; a.Cmp(q("1k")) != 0 || st.Allocatable.Cpu().Cmp(q("1900m")) != 0 {
		t.Errorf("allocatable %v", st.Allocatable)
	}
}
