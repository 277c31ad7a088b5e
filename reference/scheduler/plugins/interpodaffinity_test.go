package plugins_test

import (
	"context"
	"slices"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/scheduler/plugins"
)

// podBuilder builds test pods: makePod("p").labels("app", "db").anti(term("zone", "app", "web")).obj().
type podBuilder struct{ p *corev1.Pod }

func makePod(name string) *podBuilder {
	return &podBuilder{p: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID(name), Labels: map[string]string{}}}}
}

func (b *podBuilder) ns(ns string) *podBuilder { b.p.Namespace = ns; return b }

func (b *podBuilder) labels(kv ...string) *podBuilder {
	for i := 0; i+1 < len(kv); i += 2 {
		b.p.Labels[kv[i]] = kv[i+1]
	}
	return b
}

func (b *podBuilder) affinity() *corev1.Affinity {
	if b.p.Spec.Affinity == nil {
		b.p.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{}, PodAntiAffinity: &corev1.PodAntiAffinity{}}
	}
	return b.p.Spec.Affinity
}

func term(key, labelKey, labelValue string) corev1.PodAffinityTerm {
	return corev1.PodAffinityTerm{TopologyKey: key, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{labelKey: labelValue}}}
}

func (b *podBuilder) req(t corev1.PodAffinityTerm) *podBuilder {
	a := b.affinity().PodAffinity
	a.RequiredDuringSchedulingIgnoredDuringExecution = append(a.RequiredDuringSchedulingIgnoredDuringExecution, t)
	return b
}

func (b *podBuilder) anti(t corev1.PodAffinityTerm) *podBuilder {
	a := b.affinity().PodAntiAffinity
	a.RequiredDuringSchedulingIgnoredDuringExecution = append(a.RequiredDuringSchedulingIgnoredDuringExecution, t)
	return b
}

func (b *podBuilder) pref(w int32, t corev1.PodAffinityTerm) *podBuilder {
	a := b.affinity().PodAffinity
	a.PreferredDuringSchedulingIgnoredDuringExecution = append(a.PreferredDuringSchedulingIgnoredDuringExecution, corev1.WeightedPodAffinityTerm{Weight: w, PodAffinityTerm: t})
	return b
}

func (b *podBuilder) prefAnti(w int32, t corev1.PodAffinityTerm) *podBuilder {
	a := b.affinity().PodAntiAffinity
	a.PreferredDuringSchedulingIgnoredDuringExecution = append(a.PreferredDuringSchedulingIgnoredDuringExecution, corev1.WeightedPodAffinityTerm{Weight: w, PodAffinityTerm: t})
	return b
}

func (b *podBuilder) obj() *corev1.Pod { return b.p }

// node is a NodeInfo with labels (kv) and pods, PodsWithAffinity filled as
// a scheduler's cache fills it.
func node(name string, kv []string, pods ...*corev1.Pod) *interfaces.NodeInfo {
	l := map[string]string{corev1.LabelHostname: name}
	for i := 0; i+1 < len(kv); i += 2 {
		l[kv[i]] = kv[i+1]
	}
	n := &interfaces.NodeInfo{Node: &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}}, Requested: corev1.ResourceList{}}
	for _, p := range pods {
		n.PodList = append(n.PodList, p)
		n.Pods++
		if plugins.HasPodAffinity(p) {
			n.PodsWithAffinity = append(n.PodsWithAffinity, p)
		}
	}
	return n
}

// nsHandle is a Handle with Namespaces.
type nsHandle map[string]map[string]string

func (nsHandle) Args() any                                { return nil }
func (h nsHandle) Namespaces() interfaces.NamespaceLister { return h }
func (h nsHandle) NamespaceLabels(name string) (map[string]string, bool) {
	l, ok := h[name]
	return l, ok
}
func (h nsHandle) NamespacesMatching(sel labels.Selector) []string {
	var out []string
	for n, l := range h {
		if sel.Matches(labels.Set(l)) {
			out = append(out, n)
		}
	}
	return out
}

func newAffinity(t *testing.T, h interfaces.Handle) *plugins.InterPodAffinity {
	t.Helper()
	pl, err := plugins.NewInterPodAffinity(h)
	if err != nil {
		t.Fatal(err)
	}
	return pl.(*plugins.InterPodAffinity)
}

// verdicts filters every node and returns each node's reason ("" = fits).
func verdicts(t *testing.T, pl *plugins.InterPodAffinity, pod *corev1.Pod, nodes []*interfaces.NodeInfo) (map[string]string, interfaces.PodFilter) {
	t.Helper()
	ctx := context.Background()
	f, st := pl.PreFilter(ctx, pod, nodes)
	if !st.IsSuccess() {
		t.Fatalf("PreFilter: %v", st)
	}
	out := map[string]string{}
	for _, n := range nodes {
		out[n.Name()] = ""
		if f == nil {
			continue
		}
		if st := f.Filter(ctx, n); !st.IsSuccess() {
			out[n.Name()] = st.Reasons[0]
		}
	}
	return out, f
}

func TestInterPodAffinityFilter(t *testing.T) {
	const zone = "zone"
	db := makePod("db").labels("app", "db").obj()
	goldDB := makePod("gold-db").labels("app", "db", "tier", "gold").obj()
	guard := makePod("guard").labels("app", "guard").anti(term(zone, "app", "web")).obj()
	otherNS := makePod("db-other").ns("other").labels("app", "db").obj()
	aff, anti, existing := plugins.ReasonPodAffinity, plugins.ReasonPodAntiAffinity, plugins.ReasonExistingAntiAffinity
	cases := []struct {
		name  string
		pod   *corev1.Pod
		nodes []*interfaces.NodeInfo
		want  map[string]string
	}{
		{"affinity by zone; a node without the key never matches",
			makePod("p").req(term(zone, "app", "db")).obj(),
			[]*interfaces.NodeInfo{node("a1", []string{zone, "a"}, db), node("a2", []string{zone, "a"}), node("b", []string{zone, "b"}), node("bare", nil)},
			map[string]string{"a1": "", "a2": "", "b": aff, "bare": aff}},
		{"self-affinity: no match anywhere, the pod matches itself, nodes with the key only",
			makePod("p").labels("app", "cache").req(term(zone, "app", "cache")).obj(),
			[]*interfaces.NodeInfo{node("a", []string{zone, "a"}, db), node("bare", nil)},
			map[string]string{"a": "", "bare": aff}},
		{"no self-affinity once a matching pod exists",
			makePod("p").labels("app", "db").req(term(zone, "app", "db")).obj(),
			[]*interfaces.NodeInfo{node("a", []string{zone, "a"}, db), node("b", []string{zone, "b"})},
			map[string]string{"a": "", "b": aff}},
		{"not matching itself: no placement without a match",
			makePod("p").labels("app", "web").req(term(zone, "app", "nothing")).obj(),
			[]*interfaces.NodeInfo{node("a", []string{zone, "a"}, db)},
			map[string]string{"a": aff}},
		{"several affinity terms need one pod matching all",
			makePod("p").req(term(zone, "app", "db")).req(term(zone, "tier", "gold")).obj(),
			[]*interfaces.NodeInfo{node("a", []string{zone, "a"}, goldDB), node("b", []string{zone, "b"}, db)},
			map[string]string{"a": "", "b": aff}},
		{"anti-affinity by zone; a node without the key is in no domain",
			makePod("p").anti(term(zone, "app", "db")).obj(),
			[]*interfaces.NodeInfo{node("a1", []string{zone, "a"}, db), node("a2", []string{zone, "a"}), node("b", []string{zone, "b"}), node("bare", nil)},
			map[string]string{"a1": anti, "a2": anti, "b": "", "bare": ""}},
		{"existing pods' anti-affinity (symmetry)",
			makePod("p").labels("app", "web").obj(),
			[]*interfaces.NodeInfo{node("a1", []string{zone, "a"}, guard), node("a2", []string{zone, "a"}), node("b", []string{zone, "b"})},
			map[string]string{"a1": existing, "a2": existing, "b": ""}},
		{"the pod's affinity is checked before anti-affinity",
			makePod("p").labels("app", "web").req(term(zone, "app", "db")).anti(term(corev1.LabelHostname, "app", "db")).obj(),
			[]*interfaces.NodeInfo{node("a1", []string{zone, "a"}, db), node("a2", []string{zone, "a"}), node("b", []string{zone, "b"})},
			map[string]string{"a1": anti, "a2": "", "b": aff}},
		{"default namespace is the pod's own",
			makePod("p").req(term(corev1.LabelHostname, "app", "db")).obj(),
			[]*interfaces.NodeInfo{node("x", nil, otherNS), node("y", nil, db)},
			map[string]string{"x": aff, "y": ""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, _ := verdicts(t, newAffinity(t, nil), c.pod, c.nodes)
			for n, want := range c.want {
				if got[n] != want {
					t.Errorf("node %s: got %q, want %q", n, got[n], want)
				}
			}
		})
	}
}

func TestInterPodAffinityNamespaces(t *testing.T) {
	h := nsHandle{"default": {"team": "red"}, "other": {"team": "blue"}, "third": {}}
	db := makePod("db").labels("app", "db").obj()
	dbOther := makePod("db-other").ns("other").labels("app", "db").obj()
	nodes := []*interfaces.NodeInfo{node("x", nil, dbOther), node("y", nil, db), node("z", nil)}
	host := corev1.LabelHostname
	withNS := func(names []string, sel *metav1.LabelSelector) corev1.PodAffinityTerm {
		t := term(host, "app", "db")
		t.Namespaces, t.NamespaceSelector = names, sel
		return t
	}
	blue := &metav1.LabelSelector{MatchLabels: map[string]string{"team": "blue"}}
	cases := []struct {
		name string
		pod  *corev1.Pod
		fits []string
	}{
		{"listed", makePod("p").req(withNS([]string{"other"}, nil)).obj(), []string{"x"}},
		{"selected", makePod("p").req(withNS(nil, blue)).obj(), []string{"x"}},
		{"empty selector: every namespace", makePod("p").anti(withNS(nil, &metav1.LabelSelector{})).obj(), []string{"z"}},
		{"union", makePod("p").anti(withNS([]string{"default"}, blue)).obj(), []string{"z"}},
		{"an existing pod's namespaceSelector reads the new pod's namespace labels",
			makePod("p").labels("app", "web").obj(), []string{"y", "z"}},
	}
	// For the last case: a guard on x keeps web pods of red namespaces away.
	guardTerm := term(host, "app", "web")
	guardTerm.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"team": "red"}}
	guard := makePod("guard").ns("third").anti(guardTerm).obj()
	nodes[0].PodList = append(nodes[0].PodList, guard)
	nodes[0].PodsWithAffinity = append(nodes[0].PodsWithAffinity, guard)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, _ := verdicts(t, newAffinity(t, h), c.pod, nodes)
			var fits []string
			for _, n := range nodes {
				if got[n.Name()] == "" {
					fits = append(fits, n.Name())
				}
			}
			if !slices.Equal(fits, c.fits) {
				t.Errorf("fits %v, want %v (verdicts %v)", fits, c.fits, got)
			}
		})
	}
}

func TestInterPodAffinityPreemptionWhatIfs(t *testing.T) {
	ctx := context.Background()
	guard := makePod("guard").labels("app", "guard").anti(term(corev1.LabelHostname, "app", "web")).obj()
	db := makePod("db").labels("app", "db").obj()
	solo := node("solo", nil, guard, db)
	pl := newAffinity(t, nil)
	// A web pod kept out by the guard, shunning db itself.
	pod := makePod("web").labels("app", "web").anti(term(corev1.LabelHostname, "app", "db")).obj()
	f, _ := pl.PreFilter(ctx, pod, []*interfaces.NodeInfo{solo})
	if st := f.Filter(ctx, solo); st.IsSuccess() || st.Code != interfaces.Unschedulable {
		t.Fatalf("before: %v, want Unschedulable", st)
	}
	cp := f.Clone()
	cp.RemovePod(ctx, guard, solo)
	if st := cp.Filter(ctx, solo); st.IsSuccess() || st.Reasons[0] != plugins.ReasonPodAntiAffinity {
		t.Fatalf("without the guard: %v, want the pod's own anti-affinity", st)
	}
	cp.RemovePod(ctx, db, solo)
	if st := cp.Filter(ctx, solo); !st.IsSuccess() {
		t.Fatalf("without guard and db: %v, want a fit", st)
	}
	cp.AddPod(ctx, guard, solo)
	if st := cp.Filter(ctx, solo); st.IsSuccess() || st.Reasons[0] != plugins.ReasonExistingAntiAffinity {
		t.Fatalf("guard back: %v, want the existing anti-affinity", st)
	}
	if st := f.Filter(ctx, solo); st.IsSuccess() || st.Reasons[0] != plugins.ReasonPodAntiAffinity {
		t.Fatalf("the original changed with its clone: %v", st)
	}
}

func TestInterPodAffinityNothingToDo(t *testing.T) {
	pl := newAffinity(t, nil)
	nodes := []*interfaces.NodeInfo{node("a", nil, makePod("db").labels("app", "db").obj())}
	ctx := context.Background()
	if f, st := pl.PreFilter(ctx, makePod("plain").obj(), nodes); f != nil || !st.IsSuccess() {
		t.Errorf("PreFilter of a plain pod in a cluster without affinity: %v %v, want nil filter", f, st)
	}
	if s, st := pl.PreScore(ctx, makePod("plain").obj(), nodes, nodes); s != nil || !st.IsSuccess() {
		t.Errorf("PreScore of a plain pod in a cluster without affinity: %v %v, want nil scorer", s, st)
	}
}

func TestInterPodAffinityScore(t *testing.T) {
	host := corev1.LabelHostname
	db := makePod("db").labels("app", "db").obj()
	cache := makePod("cache").labels("app", "cache").obj()
	picky := makePod("picky").pref(80, term(host, "app", "friend")).prefAnti(30, term(host, "app", "pest")).obj()
	needy := makePod("needy").req(term(host, "app", "friend")).obj()
	cases := []struct {
		name  string
		pod   *corev1.Pod
		nodes []*interfaces.NodeInfo
		raw   []int64
		norm  []int64
	}{
		{"preferred affinity", makePod("p").pref(50, term(host, "app", "db")).obj(),
			[]*interfaces.NodeInfo{node("x", nil, db), node("y", nil, cache)}, []int64{50, 0}, []int64{100, 0}},
		{"preferred anti-affinity", makePod("p").prefAnti(50, term(host, "app", "db")).obj(),
			[]*interfaces.NodeInfo{node("x", nil, db), node("y", nil, cache), node("z", nil)}, []int64{-50, 0, 0}, []int64{0, 100, 100}},
		{"weights add up", makePod("p").pref(10, term(host, "app", "db")).pref(30, term(host, "app", "cache")).pref(5, term(host, "app", "db")).obj(),
			[]*interfaces.NodeInfo{node("x", nil, db), node("y", nil, cache), node("z", nil)}, []int64{15, 30, 0}, []int64{50, 100, 0}},
		{"existing preferred terms count for the new pod",
			makePod("friend").labels("app", "friend").obj(),
			[]*interfaces.NodeInfo{node("x", nil, picky), node("y", nil, needy), node("z", nil)}, []int64{80, 1, 0}, []int64{100, 1, 0}},
		{"existing preferred anti-affinity counts against",
			makePod("pest").labels("app", "pest").obj(),
			[]*interfaces.NodeInfo{node("x", nil, picky), node("y", nil)}, []int64{-30, 0}, []int64{0, 100}},
	}
	ctx := context.Background()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, st := newAffinity(t, nil).PreScore(ctx, c.pod, c.nodes, c.nodes)
			if !st.IsSuccess() || s == nil {
				t.Fatalf("PreScore: %v %v", s, st)
			}
			raw := make([]int64, len(c.nodes))
			for i, n := range c.nodes {
				raw[i], _ = s.Score(ctx, n)
			}
			if !slices.Equal(raw, c.raw) {
				t.Errorf("raw scores %v, want %v", raw, c.raw)
			}
			s.(interfaces.ScoreNormalizer).NormalizeScore(ctx, c.pod, raw)
			if !slices.Equal(raw, c.norm) {
				t.Errorf("normalized %v, want %v", raw, c.norm)
			}
		})
	}
}

func TestNormalizeMinMax(t *testing.T) {
	for _, c := range []struct{ in, want []int64 }{
		{[]int64{0, 0}, []int64{0, 0}},
		{[]int64{5, 5, 5}, []int64{0, 0, 0}},
		{[]int64{-80, 0}, []int64{0, 100}},
		{[]int64{1, 2, 4}, []int64{0, 33, 100}},
		{[]int64{-10, 10, 0}, []int64{0, 100, 50}},
	} {
		got := slices.Clone(c.in)
		plugins.NormalizeMinMax(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("NormalizeMinMax(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestInterPodAffinityArgs(t *testing.T) {
	w := int32(101)
	if _, err := plugins.NewInterPodAffinity(argsHandle{plugins.InterPodAffinityArgs{HardPodAffinityWeight: &w}}); err == nil {
		t.Error("hardPodAffinityWeight 101 accepted")
	}
	if _, err := plugins.NewInterPodAffinity(argsHandle{"nonsense"}); err == nil {
		t.Error("args of the wrong type accepted")
	}
}

type argsHandle struct{ a any }

func (h argsHandle) Args() any { return h.a }

// BenchmarkInterPodAffinityPreFilter is one scheduling cycle of
// scheduler_perf's SchedulingPodAntiAffinity shape at 5,000 nodes, one pod
// with hostname anti-affinity on each, and of a plain pod on 5,000 nodes
// without affinity.
func BenchmarkInterPodAffinityPreFilter(b *testing.B) {
	ctx := context.Background()
	for _, shape := range []struct {
		name string
		pod  func(i int) *corev1.Pod
	}{
		{"anti-affinity", func(i int) *corev1.Pod {
			return makePod("p"+strconv.Itoa(i)).labels("color", "green").anti(term(corev1.LabelHostname, "color", "green")).obj()
		}},
		{"plain", func(i int) *corev1.Pod { return makePod("p" + strconv.Itoa(i)).obj() }},
	} {
		b.Run(shape.name, func(b *testing.B) {
			nodes := make([]*interfaces.NodeInfo, 5000)
			for i := range nodes {
				nodes[i] = node("n"+strconv.Itoa(i), []string{"zone", strconv.Itoa(i % 10)}, shape.pod(i))
			}
			pl, err := plugins.NewInterPodAffinity(nil)
			if err != nil {
				b.Fatal(err)
			}
			incoming := shape.pod(-1)
			b.ResetTimer()
			for range b.N {
				f, _ := pl.(interfaces.PreFilterPlugin).PreFilter(ctx, incoming, nodes)
				if f != nil {
					for _, n := range nodes {
						f.Filter(ctx, n)
					}
				}
			}
		})
	}
}
