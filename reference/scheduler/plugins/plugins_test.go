package plugins_test

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/scheduler/plugins"
)

func portPod(uid string, ports ...corev1.ContainerPort) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{UID: k8stypes.UID("u-" + uid)},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Ports: ports}}}}
}

func TestNodePortsClashes(t *testing.T) {
	port := func(n int32, proto corev1.Protocol, ip string) corev1.ContainerPort {
		return corev1.ContainerPort{ContainerPort: n, HostPort: n, Protocol: proto, HostIP: ip}
	}
	cases := []struct {
		name      string
		used, new corev1.ContainerPort
		clash     bool
	}{
		{"same port, both all addresses", port(80, "", ""), port(80, corev1.ProtocolTCP, ""), true},
		{"empty protocol is TCP", port(80, "", ""), port(80, corev1.ProtocolTCP, "0.0.0.0"), true},
		{"other protocol", port(80, corev1.ProtocolTCP, ""), port(80, corev1.ProtocolUDP, ""), false},
		{"other port", port(80, "", ""), port(81, "", ""), false},
		{"specific under all", port(80, "", ""), port(80, "", "10.0.0.1"), true},
		{"all over specific", port(80, "", "10.0.0.1"), port(80, "", ""), true},
		{"two specific, same", port(80, "", "10.0.0.1"), port(80, "", "10.0.0.1"), true},
		{"two specific, different", port(80, "", "10.0.0.1"), port(80, "", "10.0.0.2"), false},
		{"container port only", corev1.ContainerPort{ContainerPort: 80}, port(80, "", ""), false},
	}
	for _, c := range cases {
		n := &interfaces.NodeInfo{Node: &corev1.Node{}, PodList: []*corev1.Pod{portPod("old", c.used)}}
		st := plugins.NodePorts{}.Filter(context.Background(), portPod("new", c.new), n)
		if got := !st.IsSuccess(); got != c.clash {
			t.Errorf("%s: clash = %v, want %v (%v)", c.name, got, c.clash, st)
		}
	}
}

func TestHostPortsCountSidecarsNotInitContainers(t *testing.T) {
	p := portPod("p", corev1.ContainerPort{ContainerPort: 1, HostPort: 1})
	p.Spec.InitContainers = []corev1.Container{
		{Name: "once", Ports: []corev1.ContainerPort{{ContainerPort: 2, HostPort: 2}}},
		{Name: "sidecar", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways), Ports: []corev1.ContainerPort{{ContainerPort: 3, HostPort: 3}}},
	}
	var got []int32
	for _, hp := range plugins.HostPorts(p) {
		got = append(got, hp.HostPort)
	}
	slices.Sort(got)
	if !slices.Equal(got, []int32{1, 3}) {
		t.Fatalf("HostPorts = %v, want [1 3]", got)
	}
}

func TestNormalizeToMax(t *testing.T) {
	s := []int64{0, 6, 10, 12}
	plugins.NormalizeToMax(s, false)
	if !slices.Equal(s, []int64{0, 50, 83, 100}) {
		t.Fatalf("NormalizeToMax = %v", s)
	}
	r := []int64{0, 1, 2}
	plugins.NormalizeToMax(r, true)
	if !slices.Equal(r, []int64{100, 50, 0}) {
		t.Fatalf("reversed = %v", r)
	}
	z := []int64{0, 0}
	plugins.NormalizeToMax(z, true)
	if !slices.Equal(z, []int64{100, 100}) {
		t.Fatalf("reversed zeros = %v", z)
	}
}

func TestImageLocalityScores(t *testing.T) {
	const mib = 1 << 20
	nodeWith := func(name string, images ...corev1.ContainerImage) *interfaces.NodeInfo {
		return &interfaces.NodeInfo{Node: &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{Images: images}}}
	}
	img := func(size int64, names ...string) corev1.ContainerImage {
		return corev1.ContainerImage{Names: names, SizeBytes: size}
	}
	a := nodeWith("a", img(500*mib, "x/app:latest"))
	b := nodeWith("b", img(500*mib, "x/app:latest"))
	c := nodeWith("c")
	d := nodeWith("d")
	p := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Image: "x/app"}}}}
	all := []*interfaces.NodeInfo{a, b, c, d}
	sc, st := plugins.ImageLocality{}.PreScore(context.Background(), p, all, all)
	if !st.IsSuccess() || sc == nil {
		t.Fatalf("PreScore = %v, %v", sc, st)
	}
	// 500 MiB × 2/4 nodes = 250 MiB: (250 − 23) × 100 / (1000 − 23) = 23.
	for n, want := range map[*interfaces.NodeInfo]int64{a: 23, c: 0} {
		if got, _ := sc.Score(context.Background(), n); got != want {
			t.Errorf("score of %s = %d, want %d", n.Name(), got, want)
		}
	}
	// Every feasible node alike: nothing to rank.
	if sc, _ := (plugins.ImageLocality{}).PreScore(context.Background(), p, []*interfaces.NodeInfo{a, b}, all); sc != nil {
		t.Errorf("feasible nodes holding the same images must not be scored")
	}
}

func TestTaintScoreNormalizedReversed(t *testing.T) {
	tt := plugins.TaintToleration{}
	n := func(k int) *interfaces.NodeInfo {
		node := &corev1.Node{}
		for i := range k {
			node.Spec.Taints = append(node.Spec.Taints, corev1.Taint{Key: string(rune('a' + i)), Effect: corev1.TaintEffectPreferNoSchedule})
		}
		return &interfaces.NodeInfo{Node: node}
	}
	p := &corev1.Pod{Spec: corev1.PodSpec{Tolerations: []corev1.Toleration{{Key: "a", Operator: corev1.TolerationOpExists}}}}
	var raw []int64
	for _, k := range []int{0, 1, 2, 3} {
		s, _ := tt.Score(context.Background(), p, n(k))
		raw = append(raw, s)
	}
	if !slices.Equal(raw, []int64{0, 0, 1, 2}) {
		t.Fatalf("raw = %v (taint a is tolerated)", raw)
	}
	tt.NormalizeScore(context.Background(), p, raw)
	if !slices.Equal(raw, []int64{100, 100, 50, 0}) {
		t.Fatalf("normalized = %v", raw)
	}
}

// TestRequestsAgreesWithPodAndNonZeroRequests checks Requests' shortcut against the two
// functions it stands for.
func TestRequestsAgreesWithPodAndNonZeroRequests(t *testing.T) {
	q := resource.MustParse
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
	}{
		{"stated", &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: q("250m"), corev1.ResourceMemory: q("64Mi")}}}}}}},
		{"explicit zero", &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: q("0"), corev1.ResourceMemory: q("0")}}}}}}},
		{"cpu only", &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: q("1")}}}}}}},
		{"init without requests", &corev1.Pod{Spec: corev1.PodSpec{InitContainers: []corev1.Container{{}},
			Containers: []corev1.Container{{Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: q("50m"), corev1.ResourceMemory: q("10Mi")}}}}}}},
		{"best effort", &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{}, {}}}}},
	} {
		req, cpu, mem := plugins.Requests(tc.pod)
		wantCPU, wantMem := plugins.NonZeroRequests(tc.pod)
		if !apiequality.Semantic.DeepEqual(req, plugins.PodRequests(tc.pod)) || cpu != wantCPU || mem != wantMem {
			t.Errorf("%s: Requests = %v, %d, %d; want %v, %d, %d", tc.name, req, cpu, mem, plugins.PodRequests(tc.pod), wantCPU, wantMem)
		}
	}
}
