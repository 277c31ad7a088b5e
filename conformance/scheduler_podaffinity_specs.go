package conformance

import (
	"context"
	"fmt"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Sources of the inter-pod affinity behaviours.
const (
	srcPodAffinity = "Kubernetes: Assigning Pods to Nodes, inter-pod affinity and anti-affinity (kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#inter-pod-affinity-and-anti-affinity); " +
		"pkg/scheduler/framework/plugins/interpodaffinity/filtering.go (a topology domain is a value of the term's topologyKey label; a node without the label is in no domain; several affinity terms must all hold; a Pod matching its own terms may be the first of its group; reasons \"node(s) didn't match pod affinity rules\", \"node(s) didn't match pod anti-affinity rules\", \"node(s) didn't satisfy existing pods anti-affinity rules\")"
	srcPodAffinityNS      = "API reference PodAffinityTerm (namespaces and namespaceSelector: the union of both; both empty or null means the Pod's own namespace; an empty namespaceSelector ({}) matches all namespaces); k8s.io/kube-scheduler/framework AffinityTerm"
	srcPodAffinityKeys    = "API reference PodAffinityTerm (matchLabelKeys: the incoming Pod's values of these keys are merged into labelSelector as key in (value); mismatchLabelKeys: as key notin (value)); pkg/registry/core/pod/strategy.go mutatePodAffinity (KEP-3633, GA in v1.33)"
	srcPodAffinityScore   = "Kubernetes: Assigning Pods to Nodes, preferred inter-pod affinity (weights 1-100 summed per node); Scheduler Configuration (InterPodAffinity score weight 2); pkg/scheduler/framework/plugins/interpodaffinity/scoring.go (the new Pod's preferred terms and the existing Pods' preferred terms count both ways, anti-affinity negatively; scores normalized to 0-100 across the feasible nodes)"
	srcPodAffinityQueue   = "Kubernetes: Scheduling Framework, QueueingHint; pkg/scheduler/framework/plugins/interpodaffinity/plugin.go EventsToRegister (an assigned Pod added or relabelled may make a Pod waiting for pod affinity schedulable)"
	srcPodAffinityPreempt = "Kubernetes: Pod Priority and Preemption (preemption removes lower-priority Pods so that the Pod fits; inter-pod anti-affinity toward a lower-priority Pod, the Pod's or the other's, is such a reason); pkg/scheduler/framework/plugins/interpodaffinity (anti-affinity failures are Unschedulable, AddPod/RemovePod); framework/preemption"
)

// Labels and topology keys of the inter-pod affinity specs.
const (
	affZone = "ck-zone"
	affApp  = "ck-app"
	affTier = "ck-tier"
	affRev  = "ck-rev"
	// affHost is the per-node topology key every spec node carries.
	affHost = corev1.LabelHostname
)

// schedulerPodAffinitySpecs are the specs of inter-pod affinity and anti-affinity.
func schedulerPodAffinitySpecs() []spec[*schedEnv] {
	return []spec[*schedEnv]{
		{sched("scheduler.pod-affinity.required", "a Pod with required podAffinity MUST be placed only on a node whose topology domain (the node's value of the term's topologyKey) holds a Pod matching the term, never on a node without the topologyKey label; when no domain holds one (and the Pod does not match its own term) it MUST stay Pending with \"node(s) didn't match pod affinity rules\"", srcPodAffinity), specPodAffinityRequired},
		{sched("scheduler.pod-affinity.self", "the first Pod of a group whose required podAffinity term matches the Pod itself MUST be placed, on a node carrying the topologyKey label, when no Pod matches the term yet, and the next Pods of the group MUST join its domain", srcPodAffinity), specPodAffinitySelf},
		{sched("scheduler.pod-affinity.anti-required", "a Pod with required podAntiAffinity MUST NOT be placed on a node whose topology domain holds a Pod matching the term (a node without the topologyKey label is in no domain and MAY take it); when every node's domain holds one it MUST stay Pending with \"node(s) didn't match pod anti-affinity rules\"", srcPodAffinity), specPodAntiAffinityRequired},
		{sched("scheduler.pod-affinity.symmetry", "a Pod already bound whose required podAntiAffinity matches a new Pod MUST keep the new Pod, even one without affinity of its own, out of its topology domain; when only that domain is left the new Pod MUST stay Pending with \"node(s) didn't satisfy existing pods anti-affinity rules\"", srcPodAffinity), specPodAffinitySymmetry},
		{sched("scheduler.pod-affinity.terms", "several required podAffinity terms MUST all hold, several required podAntiAffinity terms MUST each hold (any one violated rejects the node), and their label selectors MUST be read with matchLabels and the In, NotIn, Exists and DoesNotExist operators", srcPodAffinity), specPodAffinityTerms},
		{sched("scheduler.pod-affinity.namespaces", "a podAffinityTerm MUST match Pods of the Pod's own namespace when it names neither namespaces nor a namespaceSelector, of its listed namespaces, of the namespaces whose labels match its namespaceSelector (every namespace for an empty one), and of the union when it names both", srcPodAffinityNS), specPodAffinityNamespaces},
		{sched("scheduler.pod-affinity.label-keys", "a podAffinityTerm's matchLabelKeys MUST restrict it to Pods carrying the new Pod's values of those keys, and its mismatchLabelKeys to Pods whose values differ", srcPodAffinityKeys), specPodAffinityLabelKeys},
		{Behavior{ID: "scheduler.pod-affinity.preferred", Component: "scheduler", Source: srcPodAffinityScore, Needs: []Capability{Scoring},
			Must: "among otherwise equal nodes a Pod MUST be placed in the domain its preferred podAffinity terms weigh most (its preferred podAntiAffinity terms weighing against), and the preferred terms of the Pods already bound MUST count the same way for a new Pod they match"}, specPodAffinityPreferred},
		{sched("scheduler.pod-affinity.queue", "a Pod left Pending by its required podAffinity MUST be placed once a matching Pod is bound into a domain, and once a bound Pod's labels change to match the term", srcPodAffinityQueue), specPodAffinityQueue},
		{Behavior{ID: "scheduler.pod-affinity.preemption", Component: "scheduler", Source: srcPodAffinityPreempt, Needs: []Capability{Preemption},
			Must: "a Pod kept off a node only by the required podAntiAffinity of a lower-priority Pod there, or by its own required podAntiAffinity toward one, MUST preempt that Pod and be bound to the node"}, specPodAffinityPreemption},
	}
}

// selector is a label selector of matchLabels kv and the given expressions.
func selector(kv []string, exprs ...metav1.LabelSelectorRequirement) *metav1.LabelSelector {
	s := &metav1.LabelSelector{MatchExpressions: exprs}
	if len(kv) > 0 {
		s.MatchLabels = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			s.MatchLabels[kv[i]] = kv[i+1]
		}
	}
	return s
}

func labelExpr(key string, op metav1.LabelSelectorOperator, values ...string) metav1.LabelSelectorRequirement {
	return metav1.LabelSelectorRequirement{Key: key, Operator: op, Values: values}
}

// podTerm is a podAffinityTerm over topologyKey matching app=value.
func podTerm(topologyKey string, sel *metav1.LabelSelector) corev1.PodAffinityTerm {
	return corev1.PodAffinityTerm{TopologyKey: topologyKey, LabelSelector: sel}
}

func appIs(app string) *metav1.LabelSelector { return selector([]string{affApp, app}) }

func withPodAffinity(terms ...corev1.PodAffinityTerm) podOpt {
	return func(p *corev1.Pod) {
		affinityOf(p).PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution = append(affinityOf(p).PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution, terms...)
	}
}

func withPodAntiAffinity(terms ...corev1.PodAffinityTerm) podOpt {
	return func(p *corev1.Pod) {
		affinityOf(p).PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution = append(affinityOf(p).PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, terms...)
	}
}

func withPreferredPodAffinity(weight int32, term corev1.PodAffinityTerm) podOpt {
	return func(p *corev1.Pod) {
		a := affinityOf(p).PodAffinity
		a.PreferredDuringSchedulingIgnoredDuringExecution = append(a.PreferredDuringSchedulingIgnoredDuringExecution, corev1.WeightedPodAffinityTerm{Weight: weight, PodAffinityTerm: term})
	}
}

func withPreferredPodAntiAffinity(weight int32, term corev1.PodAffinityTerm) podOpt {
	return func(p *corev1.Pod) {
		a := affinityOf(p).PodAntiAffinity
		a.PreferredDuringSchedulingIgnoredDuringExecution = append(a.PreferredDuringSchedulingIgnoredDuringExecution, corev1.WeightedPodAffinityTerm{Weight: weight, PodAffinityTerm: term})
	}
}

// affinityOf returns the pod's affinity with non-nil podAffinity and
// podAntiAffinity (emptied again by tidyAffinity before the pod is created).
func affinityOf(p *corev1.Pod) *corev1.Affinity {
	if p.Spec.Affinity == nil {
		p.Spec.Affinity = &corev1.Affinity{}
	}
	if p.Spec.Affinity.PodAffinity == nil {
		p.Spec.Affinity.PodAffinity = &corev1.PodAffinity{}
	}
	if p.Spec.Affinity.PodAntiAffinity == nil {
		p.Spec.Affinity.PodAntiAffinity = &corev1.PodAntiAffinity{}
	}
	return p.Spec.Affinity
}

// tidyAffinity drops the empty podAffinity or podAntiAffinity affinityOf
// added.
func tidyAffinity(p *corev1.Pod) {
	a := p.Spec.Affinity
	if a == nil {
		return
	}
	if pa := a.PodAffinity; pa != nil && len(pa.RequiredDuringSchedulingIgnoredDuringExecution) == 0 && len(pa.PreferredDuringSchedulingIgnoredDuringExecution) == 0 {
		a.PodAffinity = nil
	}
	if pa := a.PodAntiAffinity; pa != nil && len(pa.RequiredDuringSchedulingIgnoredDuringExecution) == 0 && len(pa.PreferredDuringSchedulingIgnoredDuringExecution) == 0 {
		a.PodAntiAffinity = nil
	}
}

// affPod is a pod of the spec with the given labels (kv) and options.
func (e *schedEnv) affPod(name, cpu string, kv []string, opts ...podOpt) *corev1.Pod {
	p := e.schedPod(name, cpu, "64Mi", opts...)
	for i := 0; i+1 < len(kv); i += 2 {
		p.Labels[kv[i]] = kv[i+1]
	}
	tidyAffinity(p)
	return p
}

func specPodAffinityRequired(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	a1 := e.node(ctx, g, "a1", "4", "8Gi", withLabels(affZone, "a"))
	a2 := e.node(ctx, g, "a2", "4", "8Gi", withLabels(affZone, "a"))
	e.node(ctx, g, "b1", "4", "8Gi", withLabels(affZone, "b"))
	e.node(ctx, g, "bare", "4", "8Gi")
	// The db Pod loads a1, so that a2 (empty, same zone) is where spreading
	// goes, and b1 and bare are where a scheduler blind to affinity would.
	e.create(ctx, g, e.affPod("db", "1", []string{affApp, "db"}, onNode(a1)))
	for i := range 4 {
		e.create(ctx, g, e.affPod(fmt.Sprintf("near-db-%d", i), "100m", []string{affApp, "web"}, withPodAffinity(podTerm(affZone, appIs("db")))))
	}
	e.create(ctx, g, e.affPod("same-host", "100m", []string{affApp, "web"}, withPodAffinity(podTerm(affHost, appIs("db")))))
	e.create(ctx, g, e.affPod("near-nothing", "100m", []string{affApp, "web"}, withPodAffinity(podTerm(affZone, appIs("nothing")))))
	for i := range 4 {
		e.placedOnOneOf(ctx, g, fmt.Sprintf("near-db-%d", i), a1, a2)
	}
	e.placedOn(ctx, g, "same-host", a1)
	e.unschedulable(ctx, g, "near-nothing", gomega.ContainSubstring("node(s) didn't match pod affinity rules"), "no Pod matches app=nothing")
}

func specPodAffinitySelf(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	a := e.node(ctx, g, "a", "4", "8Gi", withLabels(affZone, "a"))
	b := e.node(ctx, g, "b", "4", "8Gi", withLabels(affZone, "b"))
	e.node(ctx, g, "bare", "4", "8Gi")
	// a and b are loaded, so that bare (in no domain) is where a scheduler
	// taking the missing label for a match would put the first Pod.
	e.create(ctx, g, e.affPod("a-load", "1", []string{affApp, "load"}, onNode(a)))
	e.create(ctx, g, e.affPod("b-load", "1", []string{affApp, "load"}, onNode(b)))
	group := withPodAffinity(podTerm(affZone, appIs("cache")))
	e.create(ctx, g, e.affPod("cache-0", "100m", []string{affApp, "cache"}, group))
	first := e.placedOnOneOf(ctx, g, "cache-0", a, b)
	for i := 1; i <= 3; i++ {
		e.create(ctx, g, e.affPod(fmt.Sprintf("cache-%d", i), "100m", []string{affApp, "cache"}, group))
	}
	for i := 1; i <= 3; i++ {
		e.placedOn(ctx, g, fmt.Sprintf("cache-%d", i), first)
	}
}

func specPodAntiAffinityRequired(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	a1 := e.node(ctx, g, "a1", "4", "8Gi", withLabels(affZone, "a"))
	e.node(ctx, g, "a2", "4", "8Gi", withLabels(affZone, "a"))
	b1 := e.node(ctx, g, "b1", "4", "8Gi", withLabels(affZone, "b"))
	bare := e.node(ctx, g, "bare", "4", "8Gi")
	// a2 is the emptiest node in db's zone: a scheduler checking only db's
	// own node would use it.
	e.create(ctx, g, e.affPod("db", "1", []string{affApp, "db"}, onNode(a1)))
	e.create(ctx, g, e.affPod("b-load", "1", []string{affApp, "load"}, onNode(b1)))
	e.create(ctx, g, e.affPod("bare-load", "1", []string{affApp, "load"}, onNode(bare)))
	for i := range 4 {
		e.create(ctx, g, e.affPod(fmt.Sprintf("away-%d", i), "100m", []string{affApp, "away"}, withPodAntiAffinity(podTerm(affZone, appIs("db")))))
	}
	for i := range 4 {
		e.placedOnOneOf(ctx, g, fmt.Sprintf("away-%d", i), b1, bare)
	}
	// One web Pod per node by hostname: four nodes take four, the fifth
	// fits nowhere.
	spread := withPodAntiAffinity(podTerm(affHost, appIs("web")))
	for i := range 4 {
		e.create(ctx, g, e.affPod(fmt.Sprintf("web-%d", i), "100m", []string{affApp, "web"}, spread))
	}
	seen := map[string]string{}
	for i := range 4 {
		name := fmt.Sprintf("web-%d", i)
		node := e.placed(ctx, g, name)
		g.Expect(seen).NotTo(gomega.HaveKey(node), "web Pods %s and %s share node %s despite their hostname anti-affinity", seen[node], name, node)
		seen[node] = name
	}
	e.create(ctx, g, e.affPod("web-4", "100m", []string{affApp, "web"}, spread))
	e.unschedulable(ctx, g, "web-4", gomega.ContainSubstring("node(s) didn't match pod anti-affinity rules"), "every node holds a web Pod")
}

func specPodAffinitySymmetry(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	a1 := e.node(ctx, g, "a1", "4", "8Gi", withLabels(affZone, "a"))
	e.node(ctx, g, "a2", "4", "8Gi", withLabels(affZone, "a"))
	b1 := e.node(ctx, g, "b1", "4", "8Gi", withLabels(affZone, "b"))
	// The guard keeps web Pods out of zone a; a2 stays the emptiest node.
	e.create(ctx, g, e.affPod("guard", "100m", []string{affApp, "guard"}, onNode(a1), withPodAntiAffinity(podTerm(affZone, appIs("web")))))
	e.create(ctx, g, e.affPod("b-load", "1", []string{affApp, "load"}, onNode(b1)))
	for i := range 4 {
		e.create(ctx, g, e.affPod(fmt.Sprintf("web-%d", i), "100m", []string{affApp, "web"}))
	}
	for i := range 4 {
		e.placedOn(ctx, g, fmt.Sprintf("web-%d", i), b1)
	}
	e.create(ctx, g, e.affPod("web-in-a", "100m", []string{affApp, "web"}, selecting(affZone, "a")))
	e.unschedulable(ctx, g, "web-in-a", gomega.ContainSubstring("node(s) didn't satisfy existing pods anti-affinity rules"), "the guard's anti-affinity keeps web Pods out of zone a")
}

func specPodAffinityTerms(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	a := e.node(ctx, g, "a", "4", "8Gi", withLabels(affZone, "a"))
	b := e.node(ctx, g, "b", "4", "8Gi", withLabels(affZone, "b"))
	c := e.node(ctx, g, "c", "4", "8Gi", withLabels(affZone, "c"))
	e.create(ctx, g, e.affPod("gold-db", "1", []string{affApp, "db", affTier, "gold"}, onNode(a)))
	e.create(ctx, g, e.affPod("silver-db", "1", []string{affApp, "db", affTier, "silver"}, onNode(b)))
	e.create(ctx, g, e.affPod("gold-only", "1", []string{affTier, "gold"}, onNode(c)))
	in, notIn := metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn
	exists, absent := metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist
	probes := []struct {
		name string
		opt  podOpt
		want string
	}{
		// Both terms hold in zone a only (b has no gold Pod, c no db Pod).
		{"both", withPodAffinity(podTerm(affZone, selector([]string{affApp, "db"})), podTerm(affZone, selector(nil, labelExpr(affTier, in, "gold")))), a},
		// A tier, and not gold: silver-db only.
		{"not-gold", withPodAffinity(podTerm(affZone, selector(nil, labelExpr(affTier, exists), labelExpr(affTier, notIn, "gold")))), b},
		// Gold without an app: gold-only.
		{"no-app", withPodAffinity(podTerm(affZone, selector(nil, labelExpr(affTier, in, "gold"), labelExpr(affApp, absent)))), c},
		// Away from silver, and away from a gold Pod without an app: zone a.
		{"avoid", withPodAntiAffinity(podTerm(affZone, selector(nil, labelExpr(affTier, in, "silver"))), podTerm(affZone, selector(nil, labelExpr(affTier, in, "gold"), labelExpr(affApp, absent)))), a},
	}
	for _, p := range probes {
		for i := range 2 {
			e.create(ctx, g, e.affPod(fmt.Sprintf("%s-%d", p.name, i), "100m", []string{affApp, "probe"}, p.opt))
		}
	}
	for _, p := range probes {
		for i := range 2 {
			e.placedOn(ctx, g, fmt.Sprintf("%s-%d", p.name, i), p.want)
		}
	}
}

// otherNamespace creates a second namespace for the spec, labelled kv,
// deleted when the spec ends, and returns its name.
func (e *schedEnv) otherNamespace(ctx context.Context, g gomega.Gomega, kv ...string) string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.ns + "-other", Labels: map[string]string{}}}
	for i := 0; i+1 < len(kv); i += 2 {
		ns.Labels[kv[i]] = kv[i+1]
	}
	_, err := e.client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	ok(g, err, "creating namespace "+ns.Name)
	e.c.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = e.client.CoreV1().Namespaces().Delete(cctx, ns.Name, metav1.DeleteOptions{})
	})
	return ns.Name
}

func specPodAffinityNamespaces(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	team := e.prefix + "team"
	other := e.otherNamespace(ctx, g, "ck-team", team)
	x := e.node(ctx, g, "x", "4", "8Gi")
	y := e.node(ctx, g, "y", "4", "8Gi")
	z := e.node(ctx, g, "z", "4", "8Gi")
	// A db Pod in the other namespace on x, one in the spec's on y (fuller,
	// so that a scheduler reading namespaces loosely prefers x).
	dbOther := e.affPod("db-other", "100m", []string{affApp, "db"}, onNode(x))
	dbOther.Namespace = other
	_, err := e.client.CoreV1().Pods(other).Create(ctx, dbOther, metav1.CreateOptions{})
	ok(g, err, "creating pod db-other in namespace "+other)
	e.create(ctx, g, e.affPod("db-own", "1", []string{affApp, "db"}, onNode(y)))
	teamSel := selector([]string{"ck-team", team})
	listed := podTerm(affHost, appIs("db"))
	listed.Namespaces = []string{other}
	selected := podTerm(affHost, appIs("db"))
	selected.NamespaceSelector = teamSel
	everywhere := podTerm(affHost, appIs("db"))
	everywhere.NamespaceSelector = &metav1.LabelSelector{}
	union := podTerm(affHost, appIs("db"))
	union.Namespaces = []string{e.ns}
	union.NamespaceSelector = teamSel
	probes := []struct {
		name string
		opt  podOpt
		want string
	}{
		{"own-namespace", withPodAffinity(podTerm(affHost, appIs("db"))), y},
		{"listed", withPodAffinity(listed), x},
		{"selected", withPodAffinity(selected), x},
		{"everywhere", withPodAntiAffinity(everywhere), z},
		{"union", withPodAntiAffinity(union), z},
	}
	for _, p := range probes {
		e.create(ctx, g, e.affPod(p.name, "100m", []string{affApp, "probe"}, p.opt))
	}
	for _, p := range probes {
		e.placedOn(ctx, g, p.name, p.want)
	}
}

func specPodAffinityLabelKeys(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	x := e.node(ctx, g, "x", "4", "8Gi")
	y := e.node(ctx, g, "y", "4", "8Gi")
	z := e.node(ctx, g, "z", "4", "8Gi")
	e.create(ctx, g, e.affPod("web-rev1", "1", []string{affApp, "web", affRev, "1"}, onNode(x)))
	e.create(ctx, g, e.affPod("web-rev2", "1", []string{affApp, "web", affRev, "2"}, onNode(y)))
	same := podTerm(affHost, appIs("web"))
	same.MatchLabelKeys = []string{affRev}
	differ := podTerm(affHost, appIs("web"))
	differ.MismatchLabelKeys = []string{affRev}
	// Near a web Pod of its own revision (2): y. Near one of another
	// revision than its own (1): y. Away from web Pods of its revision (1):
	// not x, and z is the emptiest.
	e.create(ctx, g, e.affPod("same-rev", "100m", []string{affApp, "probe", affRev, "2"}, withPodAffinity(same)))
	e.create(ctx, g, e.affPod("other-rev", "100m", []string{affApp, "probe", affRev, "1"}, withPodAffinity(differ)))
	e.create(ctx, g, e.affPod("not-my-rev", "100m", []string{affApp, "probe", affRev, "1"}, withPodAntiAffinity(same)))
	e.placedOn(ctx, g, "same-rev", y)
	e.placedOn(ctx, g, "other-rev", y)
	e.placedOnOneOf(ctx, g, "not-my-rev", y, z)
	// Without the merge, this anti-affinity would keep the Pod off x and y
	// both; with it, only off y (revision 2), and z is made unavailable.
	e.create(ctx, g, e.affPod("z-full", "4", []string{affApp, "load"}, onNode(z)))
	e.create(ctx, g, e.affPod("not-rev2", "100m", []string{affApp, "probe", affRev, "2"}, withPodAntiAffinity(same)))
	e.placedOn(ctx, g, "not-rev2", x)
}

func specPodAffinityPreferred(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	x := e.node(ctx, g, "x", "4", "8Gi")
	y := e.node(ctx, g, "y", "4", "8Gi")
	// Equal loads; the probes request almost nothing, so the resource
	// scores stay within a point or two, against the 200 points (weight 2
	// × 100 after normalization) inter-pod affinity gives the preferred node.
	e.create(ctx, g, e.affPod("db", "100m", []string{affApp, "db"}, onNode(x)))
	e.create(ctx, g, e.affPod("cache", "100m", []string{affApp, "cache"}, onNode(y)))
	// Existing Pods' preferred terms: picky (on x) likes friends, loner (on
	// x) dislikes pests.
	e.create(ctx, g, e.affPod("picky", "", []string{affApp, "picky"}, onNode(x), withPreferredPodAffinity(80, podTerm(affHost, appIs("friend")))))
	e.create(ctx, g, e.affPod("loner", "", []string{affApp, "loner"}, onNode(x), withPreferredPodAntiAffinity(80, podTerm(affHost, appIs("pest")))))
	probes := []struct {
		name string
		kv   []string
		opts []podOpt
		want string
	}{
		{"likes-db", []string{affApp, "probe"}, []podOpt{withPreferredPodAffinity(50, podTerm(affHost, appIs("db")))}, x},
		{"avoids-db", []string{affApp, "probe"}, []podOpt{withPreferredPodAntiAffinity(50, podTerm(affHost, appIs("db")))}, y},
		{"weighs", []string{affApp, "probe"}, []podOpt{withPreferredPodAffinity(10, podTerm(affHost, appIs("db"))), withPreferredPodAffinity(30, podTerm(affHost, appIs("cache")))}, y},
		{"friend", []string{affApp, "friend"}, nil, x},
		{"pest", []string{affApp, "pest"}, nil, y},
	}
	// One at a time, so that each sees the same two nodes.
	for _, p := range probes {
		e.create(ctx, g, e.affPod(p.name, "10m", p.kv, p.opts...))
		e.placedOn(ctx, g, p.name, p.want)
	}
}

func specPodAffinityQueue(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	x := e.node(ctx, g, "x", "4", "8Gi")
	y := e.node(ctx, g, "y", "4", "8Gi")
	e.create(ctx, g, e.affPod("idle", "100m", []string{affApp, "idle"}, onNode(x)))
	e.create(ctx, g, e.affPod("waits-db", "100m", []string{affApp, "probe"}, withPodAffinity(podTerm(affHost, appIs("db")))))
	e.create(ctx, g, e.affPod("waits-cache", "100m", []string{affApp, "probe"}, withPodAffinity(podTerm(affHost, appIs("cache")))))
	e.unschedulable(ctx, g, "waits-db", gomega.ContainSubstring("node(s) didn't match pod affinity rules"), "no db Pod yet")
	e.unschedulable(ctx, g, "waits-cache", gomega.ContainSubstring("node(s) didn't match pod affinity rules"), "no cache Pod yet")
	// A db Pod bound to y.
	e.create(ctx, g, e.affPod("db", "100m", []string{affApp, "db"}, onNode(y)))
	e.placedOn(ctx, g, "waits-db", y)
	// The idle Pod on x relabelled to cache.
	p, err := e.client.CoreV1().Pods(e.ns).Get(ctx, "idle", metav1.GetOptions{})
	ok(g, err, "get pod idle")
	p.Labels[affApp] = "cache"
	_, err = e.client.CoreV1().Pods(e.ns).Update(ctx, p, metav1.UpdateOptions{})
	ok(g, err, "relabel pod idle to cache")
	e.placedOn(ctx, g, "waits-cache", x)
}

func specPodAffinityPreemption(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	low := e.priorityClass(ctx, g, "low", 10, "")
	high := e.priorityClass(ctx, g, "high", 1000, "")
	node := e.node(ctx, g, "solo", "8", "16Gi")
	// A lower-priority guard whose anti-affinity keeps web Pods away.
	e.create(ctx, g, e.affPod("guard", "100m", []string{affApp, "guard"}, onNode(node), withPriorityClass(low),
		withPodAntiAffinity(podTerm(affHost, appIs("web")))))
	e.create(ctx, g, e.affPod("web", "100m", []string{affApp, "web"}, withPriorityClass(high)))
	e.gone(ctx, g, "guard", "its anti-affinity alone kept the higher-priority web Pod off the only node")
	e.placedOn(ctx, g, "web", node)
	// A lower-priority db Pod that a higher-priority Pod's anti-affinity
	// shuns.
	e.create(ctx, g, e.affPod("db", "100m", []string{affApp, "db"}, onNode(node), withPriorityClass(low)))
	e.create(ctx, g, e.affPod("shy", "100m", []string{affApp, "shy"}, withPriorityClass(high), withPodAntiAffinity(podTerm(affHost, appIs("db")))))
	e.gone(ctx, g, "db", "the higher-priority shy Pod's anti-affinity toward it alone kept shy off the only node")
	e.placedOn(ctx, g, "shy", node)
}
