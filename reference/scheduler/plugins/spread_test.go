package plugins

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"

	"github.com/clusterkit/clusterkit/interfaces"
)

// spreadNode is a node with labels and the given pods.
func spreadNode(name string, lbls map[string]string, pods ...*corev1.Pod) *interfaces.NodeInfo {
	l := map[string]string{corev1.LabelHostname: name}
	for k, v := range lbls {
		l[k] = v
	}
	return &interfaces.NodeInfo{Node: &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}}, Pods: len(pods), PodList: pods}
}

// member is a pod of namespace "ns" labelled app=web (plus kv pairs).
func member(kv ...string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "m", Namespace: "ns", Labels: map[string]string{"app": "web"}}}
	for i := 0; i+1 < len(kv); i += 2 {
		p.Labels[kv[i]] = kv[i+1]
	}
	return p
}

func members(n int, kv ...string) []*corev1.Pod {
	out := make([]*corev1.Pod, n)
	for i := range out {
		out[i] = member(kv...)
	}
	return out
}

type constraintOpt func(*corev1.TopologySpreadConstraint)

func hard(key string, maxSkew int32, opts ...constraintOpt) corev1.TopologySpreadConstraint {
	c := corev1.TopologySpreadConstraint{MaxSkew: maxSkew, TopologyKey: key, WhenUnsatisfiable: corev1.DoNotSchedule,
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}
	for _, o := range opts {
		o(&c)
	}
	return c
}

func soft(key string, maxSkew int32) corev1.TopologySpreadConstraint {
	c := hard(key, maxSkew)
	c.WhenUnsatisfiable = corev1.ScheduleAnyway
	return c
}

// incoming is the pod being scheduled: namespace ns, app=web, the constraints.
func incoming(cs ...corev1.TopologySpreadConstraint) *corev1.Pod {
	p := member()
	p.Name = "incoming"
	p.Spec.TopologySpreadConstraints = cs
	return p
}

func zone(z string) map[string]string { return map[string]string{"zone": z} }

func TestTopologySpreadFilter(t *testing.T) {
	other := member()
	other.Namespace = "elsewhere"
	leaving := member()
	leaving.DeletionTimestamp = ptr.To(metav1.Now())
	taint := corev1.Taint{Key: "dedicated", Effect: corev1.TaintEffectNoSchedule}
	tainted := func(n *interfaces.NodeInfo) *interfaces.NodeInfo {
		n.Node.Spec.Taints = []corev1.Taint{taint}
		return n
	}
	withPod := func(p *corev1.Pod, f func(*corev1.Pod)) *corev1.Pod { f(p); return p }
	// want maps a node to the code of its verdict (absent: Success).
	cases := []struct {
		name  string
		pod   *corev1.Pod
		nodes []*interfaces.NodeInfo
		want  map[string]interfaces.StatusCode
	}{{
		name:  "skew above maxSkew",
		pod:   incoming(hard("zone", 1)),
		nodes: []*interfaces.NodeInfo{spreadNode("a", zone("a"), members(2)...), spreadNode("b", zone("b")), spreadNode("c", zone("c"), member())},
		want:  map[string]interfaces.StatusCode{"a": interfaces.Unschedulable, "c": interfaces.Unschedulable},
	}, {
		name:  "maxSkew 2",
		pod:   incoming(hard("zone", 2)),
		nodes: []*interfaces.NodeInfo{spreadNode("a", zone("a"), members(2)...), spreadNode("b", zone("b")), spreadNode("c", zone("c"), member())},
		want:  map[string]interfaces.StatusCode{"a": interfaces.Unschedulable},
	}, {
		name:  "domains of several nodes",
		pod:   incoming(hard("zone", 1)),
		nodes: []*interfaces.NodeInfo{spreadNode("a1", zone("a"), member()), spreadNode("a2", zone("a"), member()), spreadNode("b1", zone("b"), member())},
		want:  map[string]interfaces.StatusCode{"a1": interfaces.Unschedulable, "a2": interfaces.Unschedulable},
	}, {
		name:  "a node without the key is no domain and takes nothing",
		pod:   incoming(hard("zone", 1)),
		nodes: []*interfaces.NodeInfo{spreadNode("a", zone("a"), member()), spreadNode("bare", nil)},
		want:  map[string]interfaces.StatusCode{"bare": interfaces.UnschedulableAndUnresolvable},
	}, {
		name: "a node without another constraint's key is no domain",
		pod:  incoming(hard("zone", 1), hard("rack", 5)),
		nodes: []*interfaces.NodeInfo{spreadNode("a", map[string]string{"zone": "a", "rack": "1"}, member()),
			spreadNode("b", zone("b"))},
		want: map[string]interfaces.StatusCode{"b": interfaces.UnschedulableAndUnresolvable},
	}, {
		name:  "fewer domains than minDomains: minimum 0",
		pod:   incoming(hard("zone", 1, func(c *corev1.TopologySpreadConstraint) { c.MinDomains = ptr.To[int32](3) })),
		nodes: []*interfaces.NodeInfo{spreadNode("a", zone("a"), member()), spreadNode("b", zone("b"), member())},
		want:  map[string]interfaces.StatusCode{"a": interfaces.Unschedulable, "b": interfaces.Unschedulable},
	}, {
		name:  "as many domains as minDomains",
		pod:   incoming(hard("zone", 1, func(c *corev1.TopologySpreadConstraint) { c.MinDomains = ptr.To[int32](2) })),
		nodes: []*interfaces.NodeInfo{spreadNode("a", zone("a"), member()), spreadNode("b", zone("b"), member())},
	}, {
		name:  "pods of other namespaces and terminating pods are not counted",
		pod:   incoming(hard("zone", 1)),
		nodes: []*interfaces.NodeInfo{spreadNode("a", zone("a"), other, leaving, other), spreadNode("b", zone("b"), member())},
		want:  map[string]interfaces.StatusCode{"b": interfaces.Unschedulable},
	}, {
		name:  "a pod outside its own selector adds nothing",
		pod:   withPod(incoming(hard("zone", 1)), func(p *corev1.Pod) { p.Labels = nil }),
		nodes: []*interfaces.NodeInfo{spreadNode("a", zone("a"), member()), spreadNode("b", zone("b"))},
	}, {
		name: "nodeAffinityPolicy Honor: unselected nodes are no domains",
		pod:  withPod(incoming(hard("zone", 1)), func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"pool": "x"} }),
		nodes: []*interfaces.NodeInfo{spreadNode("a", map[string]string{"zone": "a", "pool": "x"}, member()),
			spreadNode("b", map[string]string{"zone": "b", "pool": "x"}, member()), spreadNode("c", zone("c"))},
		// c is no domain, and NodeAffinity keeps the pod off it.
	}, {
		name: "nodeAffinityPolicy Ignore: every node is a domain",
		pod: withPod(incoming(hard("zone", 1, func(c *corev1.TopologySpreadConstraint) {
			c.NodeAffinityPolicy = ptr.To(corev1.NodeInclusionPolicyIgnore)
		})), func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"pool": "x"} }),
		nodes: []*interfaces.NodeInfo{spreadNode("a", map[string]string{"zone": "a", "pool": "x"}, member()),
			spreadNode("b", map[string]string{"zone": "b", "pool": "x"}, member()), spreadNode("c", zone("c"))},
		want: map[string]interfaces.StatusCode{"a": interfaces.Unschedulable, "b": interfaces.Unschedulable},
	}, {
		name:  "nodeTaintsPolicy Ignore: tainted nodes are domains",
		pod:   incoming(hard("zone", 1)),
		nodes: []*interfaces.NodeInfo{spreadNode("a", zone("a"), member()), tainted(spreadNode("c", zone("c")))},
		want:  map[string]interfaces.StatusCode{"a": interfaces.Unschedulable},
	}, {
		name: "nodeTaintsPolicy Honor: untolerated taints exclude",
		pod: incoming(hard("zone", 1, func(c *corev1.TopologySpreadConstraint) {
			c.NodeTaintsPolicy = ptr.To(corev1.NodeInclusionPolicyHonor)
		})),
		nodes: []*interfaces.NodeInfo{spreadNode("a", zone("a"), member()), tainted(spreadNode("c", zone("c")))},
		// c is no domain, and TaintToleration keeps the pod off it.
	}, {
		name: "nodeTaintsPolicy Honor: tolerated taints do not exclude",
		pod: withPod(incoming(hard("zone", 1, func(c *corev1.TopologySpreadConstraint) {
			c.NodeTaintsPolicy = ptr.To(corev1.NodeInclusionPolicyHonor)
		})), func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists}}
		}),
		nodes: []*interfaces.NodeInfo{spreadNode("a", zone("a"), member()), tainted(spreadNode("c", zone("c")))},
		want:  map[string]interfaces.StatusCode{"a": interfaces.Unschedulable},
	}, {
		name: "matchLabelKeys narrow the selector",
		pod: withPod(incoming(hard("zone", 1, func(c *corev1.TopologySpreadConstraint) { c.MatchLabelKeys = []string{"version"} })),
			func(p *corev1.Pod) { p.Labels["version"] = "v2" }),
		nodes: []*interfaces.NodeInfo{spreadNode("a", zone("a"), members(2, "version", "v1")...), spreadNode("b", zone("b"), member("version", "v2"))},
		want:  map[string]interfaces.StatusCode{"b": interfaces.Unschedulable},
	}, {
		name: "an empty selector counts nothing",
		pod: incoming(hard("zone", 1, func(c *corev1.TopologySpreadConstraint) {
			c.LabelSelector = &metav1.LabelSelector{}
		})),
		nodes: []*interfaces.NodeInfo{spreadNode("a", zone("a"), members(3)...), spreadNode("b", zone("b"))},
	}, {
		name: "constraints are ANDed",
		pod:  incoming(hard("rack", 1), hard("zone", 1)),
		nodes: []*interfaces.NodeInfo{
			spreadNode("a1", map[string]string{"zone": "a", "rack": "a1"}),
			spreadNode("a2", map[string]string{"zone": "a", "rack": "a2"}, member()),
			spreadNode("b1", map[string]string{"zone": "b", "rack": "b1"}),
			spreadNode("b2", map[string]string{"zone": "b", "rack": "b2"}, members(2)...),
		},
		want: map[string]interfaces.StatusCode{"a2": interfaces.Unschedulable, "b1": interfaces.Unschedulable, "b2": interfaces.Unschedulable},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			pf, st := TopologySpread{}.PreFilter(ctx, tc.pod, tc.nodes)
			if !st.IsSuccess() || pf == nil {
				t.Fatalf("PreFilter = %v, %v", pf, st)
			}
			for _, n := range tc.nodes {
				got := pf.Filter(ctx, n)
				if got.CodeOf() != tc.want[n.Name()] {
					t.Errorf("node %s: %v, want %v", n.Name(), got, tc.want[n.Name()])
				}
				if want := map[interfaces.StatusCode]string{interfaces.Unschedulable: ReasonSpread, interfaces.UnschedulableAndUnresolvable: ReasonSpreadNoLabel}[got.CodeOf()]; want != "" && got.Reasons[0] != want {
					t.Errorf("node %s: reason %q, want %q", n.Name(), got.Reasons[0], want)
				}
			}
		})
	}
}

func TestTopologySpreadNothingToDo(t *testing.T) {
	nodes := []*interfaces.NodeInfo{spreadNode("a", zone("a"), member())}
	for name, pod := range map[string]*corev1.Pod{"no constraints": incoming(), "ScheduleAnyway only": incoming(soft("zone", 1))} {
		if pf, st := (TopologySpread{}).PreFilter(context.Background(), pod, nodes); pf != nil || !st.IsSuccess() {
			t.Errorf("%s: PreFilter = %v, %v; want nil, nil", name, pf, st)
		}
	}
	if ps, st := (TopologySpread{}).PreScore(context.Background(), incoming(hard("zone", 1)), nodes, nodes); ps != nil || !st.IsSuccess() {
		t.Errorf("DoNotSchedule only: PreScore = %v, %v; want nil, nil", ps, st)
	}
}

// TestTopologySpreadWhatIfs checks preemption's Clone/RemovePod/AddPod.
func TestTopologySpreadWhatIfs(t *testing.T) {
	ctx := context.Background()
	victim := member()
	a := spreadNode("a", zone("a"), member(), victim)
	b := spreadNode("b", zone("b"))
	c := spreadNode("c", zone("c"), member())
	pf, _ := TopologySpread{}.PreFilter(ctx, incoming(hard("zone", 1)), []*interfaces.NodeInfo{a, b, c})
	if pf.Filter(ctx, a).IsSuccess() || pf.Filter(ctx, c).IsSuccess() {
		t.Fatal("a (2 against 0) or c (1 against 0) passes")
	}
	// b gets a pod: the minimum becomes 1, c (1 → 2) passes, a (2 → 3) not.
	cp := pf.Clone()
	cp.AddPod(ctx, member(), b)
	if st := cp.Filter(ctx, c); !st.IsSuccess() {
		t.Errorf("c with the minimum raised to 1: %v", st)
	}
	if cp.Filter(ctx, a).IsSuccess() {
		t.Error("a (2 against 1) passes")
	}
	// Then the victim leaves a: 1 against 1.
	cp.RemovePod(ctx, victim, a)
	if st := cp.Filter(ctx, a); !st.IsSuccess() {
		t.Errorf("a without the victim: %v", st)
	}
	if pf.Filter(ctx, a).IsSuccess() || pf.Filter(ctx, c).IsSuccess() {
		t.Error("the what-ifs on the clone changed the original")
	}
	// Pods of another namespace change nothing.
	foreign := member()
	foreign.Namespace = "elsewhere"
	cp2 := pf.Clone()
	cp2.AddPod(ctx, foreign, b)
	if cp2.Filter(ctx, c).IsSuccess() {
		t.Error("a pod of another namespace raised the minimum")
	}
}

// TestDomainCountsMinimum checks the incremental minimum against a rescan.
func TestDomainCountsMinimum(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	values := []string{"a", "b", "c", "d"}
	d := spreadDomains{count: map[string]int{"a": 3, "b": 1, "c": 1}}
	d.rescan()
	for i := range 2000 {
		v := values[rng.IntN(len(values))]
		delta := 1
		if rng.IntN(2) == 0 && d.count[v] > 0 {
			delta = -1
		}
		d.add(v, delta)
		want := spreadDomains{count: d.count}
		want.rescan()
		if d.min != want.min || d.atMin != want.atMin {
			t.Fatalf("step %d (%s %+d): min %d × %d, rescan says %d × %d (%v)", i, v, delta, d.min, d.atMin, want.min, want.atMin, d.count)
		}
	}
}

func TestTopologySpreadScore(t *testing.T) {
	cases := []struct {
		name     string
		pod      *corev1.Pod
		feasible []*interfaces.NodeInfo
		// others are nodes of the cluster that are not feasible.
		others []*interfaces.NodeInfo
		raw    []int64
		want   []int64
	}{{
		// ln(2 zones + 2) = 1.386: 3 pods → 4.16 → 4.
		name:     "fewest matching pods win",
		pod:      incoming(soft("zone", 1)),
		feasible: []*interfaces.NodeInfo{spreadNode("a", zone("a"), members(3)...), spreadNode("b", zone("b"))},
		raw:      []int64{4, 0},
		want:     []int64{0, 100},
	}, {
		// maxSkew 3 adds 2 to each: 6 and 2 → 100 × (6 + 2 − s) / 6.
		name:     "maxSkew waters differences down",
		pod:      incoming(soft("zone", 3)),
		feasible: []*interfaces.NodeInfo{spreadNode("a", zone("a"), members(3)...), spreadNode("b", zone("b"))},
		raw:      []int64{6, 2},
		want:     []int64{33, 100},
	}, {
		// The pods of an infeasible node of zone a count for a1.
		name:     "domains count every node of the cluster",
		pod:      incoming(soft("zone", 1)),
		feasible: []*interfaces.NodeInfo{spreadNode("a1", zone("a")), spreadNode("b1", zone("b"), member())},
		others:   []*interfaces.NodeInfo{spreadNode("a2", zone("a"), members(2)...), spreadNode("c", zone("c"), members(5)...)},
		raw:      []int64{3, 1},
		want:     []int64{33, 100},
	}, {
		// Three feasible hosts: ln 5 = 1.609.
		name: "hostname domains are counted per node",
		pod:  incoming(soft(corev1.LabelHostname, 1)),
		feasible: []*interfaces.NodeInfo{spreadNode("h1", nil, members(2)...), spreadNode("h2", nil, member()),
			spreadNode("h3", nil)},
		raw:  []int64{3, 2, 0},
		want: []int64{0, 33, 100},
	}, {
		name:     "a node without the key scores 0",
		pod:      incoming(soft("zone", 1)),
		feasible: []*interfaces.NodeInfo{spreadNode("a", zone("a"), member()), spreadNode("bare", nil), spreadNode("b", zone("b"))},
		raw:      []int64{1, 0, 0},
		want:     []int64{0, 0, 100},
	}, {
		name:     "no matching pod anywhere: all equal",
		pod:      incoming(soft("zone", 1)),
		feasible: []*interfaces.NodeInfo{spreadNode("a", zone("a")), spreadNode("b", zone("b"))},
		raw:      []int64{0, 0},
		want:     []int64{100, 100},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			all := append(append([]*interfaces.NodeInfo{}, tc.feasible...), tc.others...)
			ps, st := TopologySpread{}.PreScore(ctx, tc.pod, tc.feasible, all)
			if !st.IsSuccess() || ps == nil {
				t.Fatalf("PreScore = %v, %v", ps, st)
			}
			scores := make([]int64, len(tc.feasible))
			for i, n := range tc.feasible {
				scores[i], st = ps.Score(ctx, n)
				if !st.IsSuccess() {
					t.Fatalf("Score(%s): %v", n.Name(), st)
				}
			}
			for i := range scores {
				if scores[i] != tc.raw[i] {
					t.Errorf("raw scores %v, want %v", scores, tc.raw)
					break
				}
			}
			if st := ps.(interfaces.ScoreNormalizer).NormalizeScore(ctx, tc.pod, scores); !st.IsSuccess() {
				t.Fatalf("NormalizeScore: %v", st)
			}
			for i := range scores {
				if scores[i] != tc.want[i] {
					t.Errorf("normalized %v, want %v", scores, tc.want)
					break
				}
			}
		})
	}
}

// fixedSelectors selects the pods labelled app=web.
type fixedSelectors struct{}

func (fixedSelectors) Selector(pod *corev1.Pod) labels.Selector {
	if pod.Labels["app"] != "web" {
		return labels.Everything() // empty: no workload
	}
	return labels.SelectorFromSet(labels.Set{"app": "web"})
}

type argsHandle struct{ args any }

func (h argsHandle) Args() any { return h.args }

func TestTopologySpreadSystemDefaults(t *testing.T) {
	ctx := context.Background()
	pl, err := NewTopologySpread(argsHandle{SpreadArgs{SystemDefaults: true, Selectors: fixedSelectors{}}})
	if err != nil {
		t.Fatal(err)
	}
	ts := pl.(TopologySpread)
	// a and b are in zone z1, c has no zone: hostname weight ln 5, zone
	// weight ln 4 (z1 and c's ""); c is scored by hostname only.
	nodes := []*interfaces.NodeInfo{
		spreadNode("a", map[string]string{corev1.LabelTopologyZone: "z1"}, members(2)...),
		spreadNode("b", map[string]string{corev1.LabelTopologyZone: "z1"}),
		spreadNode("c", nil, member()),
	}
	ps, st := ts.PreScore(ctx, incoming(), nodes, nodes)
	if !st.IsSuccess() || ps == nil {
		t.Fatalf("PreScore = %v, %v", ps, st)
	}
	var raw []int64
	for _, n := range nodes {
		v, _ := ps.Score(ctx, n)
		raw = append(raw, v)
	}
	// a: 2 × 1.609 + 2 + 2 × 1.386 + 4 = 11.99; b: 0 + 2 + 2.77 + 4 = 8.77;
	// c: 1.609 + 2 = 3.61.
	if want := []int64{12, 9, 4}; !slices.Equal(raw, want) {
		t.Errorf("raw scores %v, want %v", raw, want)
	}
	other := incoming()
	other.Labels = map[string]string{"app": "db"}
	if ps, _ := ts.PreScore(ctx, other, nodes, nodes); ps != nil {
		t.Error("a pod no workload selects is scored")
	}
	if ps, _ := (TopologySpread{}).PreScore(ctx, incoming(), nodes, nodes); ps != nil {
		t.Error("without SystemDefaults a pod without constraints is scored")
	}
	if _, err := NewTopologySpread(argsHandle{SpreadArgs{SystemDefaults: true}}); err == nil {
		t.Error("SystemDefaults without Selectors accepted")
	}
	if _, err := NewTopologySpread(argsHandle{"nonsense"}); err == nil {
		t.Error("args of another type accepted")
	}
}
