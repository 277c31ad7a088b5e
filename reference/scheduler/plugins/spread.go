package plugins

import (
	"context"
	"fmt"
	"math"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"

	"github.com/clusterkit/clusterkit/interfaces"
)

// PodTopologySpreadName is the name of the TopologySpread plugin.
const PodTopologySpreadName = "PodTopologySpread"

// Reasons of the PodTopologySpread filter, in kube-scheduler's wording.
const (
	ReasonSpread        = "node(s) didn't match pod topology spread constraints"
	ReasonSpreadNoLabel = ReasonSpread + " (missing required label)"
)

// TopologySpread is the PodTopologySpread plugin: a pod's
// topologySpreadConstraints. Its filter (PreFilter) keeps a pod out of the
// topology domains where a DoNotSchedule constraint's skew — the pods
// matching the constraint's selector in the domain with the pod, minus the
// fewest in any eligible domain — would exceed maxSkew; its score
// (PreScore) prefers the domains with fewer matching pods for the
// ScheduleAnyway constraints. With SpreadArgs.SystemDefaults, a pod without
// constraints that a Service, ReplicationController, ReplicaSet or
// StatefulSet selects is scored with kube-scheduler's system default
// constraints; otherwise pods without constraints are left alone.
type TopologySpread struct {
	args SpreadArgs
}

// SpreadArgs configures PodTopologySpread (the profile's Args).
type SpreadArgs struct {
	// SystemDefaults applies kube-scheduler's system default constraints
	// (kubernetes.io/hostname maxSkew 3 and topology.kubernetes.io/zone
	// maxSkew 5, both ScheduleAnyway) to pods without constraints of their
	// own, with the selector Selectors gives; a node lacking one of the keys
	// is still scored by the other.
	SystemDefaults bool
	// Selectors finds the workloads selecting a pod; the plugin's only view
	// of objects other than nodes and pods. Required with SystemDefaults.
	Selectors WorkloadSelectors
}

// WorkloadSelectors is what the scheduler hands PodTopologySpread for the
// default constraints.
type WorkloadSelectors interface {
	// Selector ANDs the selectors of the Services, ReplicationControllers,
	// ReplicaSets and StatefulSets of the pod's namespace that select the
	// pod; an empty selector (or nil) when none does.
	Selector(pod *corev1.Pod) labels.Selector
}

// systemDefaultSpread are kube-scheduler's system default constraints.
func systemDefaultSpread(sel labels.Selector) []spreadConstraint {
	return []spreadConstraint{
		{maxSkew: 3, key: corev1.LabelHostname, selector: sel, minDomains: 1, honorAffinity: true},
		{maxSkew: 5, key: corev1.LabelTopologyZone, selector: sel, minDomains: 1, honorAffinity: true},
	}
}

var (
	_ interfaces.PreFilterPlugin = TopologySpread{}
	_ interfaces.PreScorePlugin  = TopologySpread{}
	_ interfaces.PodEventsPlugin = TopologySpread{}
)

// NewTopologySpread builds PodTopologySpread; its Args are nil or a
// SpreadArgs.
func NewTopologySpread(h interfaces.Handle) (interfaces.Plugin, error) {
	switch a := h.Args().(type) {
	case nil:
		return TopologySpread{}, nil
	case SpreadArgs:
		if a.SystemDefaults && a.Selectors == nil {
			return nil, fmt.Errorf("%s: SystemDefaults needs Selectors", PodTopologySpreadName)
		}
		return TopologySpread{args: a}, nil
	default:
		return nil, fmt.Errorf("%s: args of type %T, want plugins.SpreadArgs", PodTopologySpreadName, a)
	}
}

// Name implements interfaces.Plugin.
func (TopologySpread) Name() string { return PodTopologySpreadName }

// RetryOnPodChange implements interfaces.PodEventsPlugin: another pod
// bound, relabelled or gone changes the domains' counts.
func (TopologySpread) RetryOnPodChange() bool { return true }

// spreadConstraint is one of the pod's constraints, its selector parsed
// (matchLabelKeys merged in) and its defaults applied.
type spreadConstraint struct {
	maxSkew    int32
	key        string
	selector   labels.Selector
	minDomains int32
	// honorAffinity: only nodes matching the pod's nodeSelector and
	// required node affinity are domains (nodeAffinityPolicy Honor, the
	// default); honorTaints: nodes with a NoSchedule or NoExecute taint the
	// pod does not tolerate are not (nodeTaintsPolicy Honor; default Ignore).
	honorAffinity, honorTaints bool
}

// spreadConstraints returns the pod's constraints with the given
// whenUnsatisfiable.
func spreadConstraints(pod *corev1.Pod, when corev1.UnsatisfiableConstraintAction) ([]spreadConstraint, error) {
	var out []spreadConstraint
	for i := range pod.Spec.TopologySpreadConstraints {
		c := &pod.Spec.TopologySpreadConstraints[i]
		if c.WhenUnsatisfiable != when {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(c.LabelSelector)
		if err != nil {
			return nil, fmt.Errorf("topologySpreadConstraints[%d].labelSelector: %w", i, err)
		}
		// matchLabelKeys: the pod's own values of these keys narrow the
		// selector (an API server that merged them already only repeats
		// requirements that hold anyway).
		if c.LabelSelector != nil {
			for _, k := range c.MatchLabelKeys {
				v, ok := pod.Labels[k]
				if !ok {
					continue
				}
				r, err := labels.NewRequirement(k, selection.In, []string{v})
				if err != nil {
					return nil, fmt.Errorf("topologySpreadConstraints[%d].matchLabelKeys: %w", i, err)
				}
				sel = sel.Add(*r)
			}
		}
		sc := spreadConstraint{maxSkew: c.MaxSkew, key: c.TopologyKey, selector: sel, minDomains: 1, honorAffinity: true}
		if c.MinDomains != nil {
			sc.minDomains = *c.MinDomains
		}
		if c.NodeAffinityPolicy != nil {
			sc.honorAffinity = *c.NodeAffinityPolicy == corev1.NodeInclusionPolicyHonor
		}
		if c.NodeTaintsPolicy != nil {
			sc.honorTaints = *c.NodeTaintsPolicy == corev1.NodeInclusionPolicyHonor
		}
		out = append(out, sc)
	}
	return out, nil
}

// hasKeys reports whether the node carries every constraint's topology key.
func hasKeys(node *corev1.Node, cs []spreadConstraint) bool {
	for i := range cs {
		if _, ok := node.Labels[cs[i].key]; !ok {
			return false
		}
	}
	return true
}

// includes reports whether the node is an eligible domain of the constraint
// for pod under its inclusion policies.
func (c *spreadConstraint) includes(pod *corev1.Pod, node *corev1.Node) bool {
	if c.honorAffinity && !MatchesNode(pod, node) {
		return false
	}
	if c.honorTaints {
		for i := range node.Spec.Taints {
			t := &node.Spec.Taints[i]
			if (t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute) && !tolerated(pod.Spec.Tolerations, t) {
				return false
			}
		}
	}
	return true
}

// counts reports whether p counts for the constraint of a pod of namespace
// ns: same namespace, not terminating, labels matching. An empty selector
// (which would match every pod) counts nothing, as upstream.
func (c *spreadConstraint) counts(ns string, p *corev1.Pod) bool {
	return p.Namespace == ns && p.DeletionTimestamp == nil && !c.selector.Empty() && c.selector.Matches(labels.Set(p.Labels))
}

// matching is the number of pods of the node that count for the constraint.
func (c *spreadConstraint) matching(ns string, pods []*corev1.Pod) int {
	if c.selector.Empty() {
		return 0
	}
	n := 0
	for _, p := range pods {
		if c.counts(ns, p) {
			n++
		}
	}
	return n
}

// PreFilter counts the pods matching each DoNotSchedule constraint in each
// eligible domain: the values of the constraint's key on the nodes that
// carry every constraint's key and pass its inclusion policies.
func (TopologySpread) PreFilter(_ context.Context, pod *corev1.Pod, nodes []*interfaces.NodeInfo) (interfaces.PodFilter, *interfaces.Status) {
	if len(pod.Spec.TopologySpreadConstraints) == 0 {
		return nil, nil
	}
	cs, err := spreadConstraints(pod, corev1.DoNotSchedule)
	if err != nil {
		return nil, interfaces.NewStatus(interfaces.Error, err.Error())
	}
	if len(cs) == 0 {
		return nil, nil
	}
	f := &spreadFilter{pod: pod, constraints: cs, domains: make([]spreadDomains, len(cs))}
	for i := range f.domains {
		f.domains[i] = spreadDomains{count: map[string]int{}}
	}
	for _, n := range nodes {
		if n == nil || n.Node == nil || !hasKeys(n.Node, cs) {
			continue
		}
		for i := range cs {
			c := &cs[i]
			if !c.includes(pod, n.Node) {
				continue
			}
			f.domains[i].count[n.Node.Labels[c.key]] += c.matching(pod.Namespace, n.PodList)
		}
	}
	for i := range f.domains {
		f.domains[i].rescan()
	}
	return f, nil
}

// spreadDomains is the number of matching pods per domain (value of the
// topology key) of one constraint, with its minimum kept up to date.
type spreadDomains struct {
	count map[string]int
	// min is the smallest count and atMin how many domains have it.
	min, atMin int
}

func (d *spreadDomains) rescan() {
	d.min, d.atMin = math.MaxInt, 0
	for _, n := range d.count {
		switch {
		case n < d.min:
			d.min, d.atMin = n, 1
		case n == d.min:
			d.atMin++
		}
	}
}

// add changes a domain's count by delta (±1), keeping the minimum.
func (d *spreadDomains) add(value string, delta int) {
	old, known := d.count[value]
	now := old + delta
	d.count[value] = now
	if !known {
		d.rescan()
		return
	}
	switch {
	case now < d.min:
		d.min, d.atMin = now, 1
	case now == d.min:
		d.atMin++
	case old == d.min:
		// The domain left the minimum.
		if d.atMin--; d.atMin == 0 {
			d.rescan()
		}
	}
}

// globalMin is the minimum the skew is measured from: 0 when there are
// fewer eligible domains than minDomains.
func (d *spreadDomains) globalMin(minDomains int32) int {
	if len(d.count) < int(minDomains) {
		return 0
	}
	return d.min
}

// spreadFilter is PodTopologySpread's PodFilter for one pod.
type spreadFilter struct {
	pod         *corev1.Pod
	constraints []spreadConstraint
	domains     []spreadDomains
}

var _ interfaces.PodFilter = (*spreadFilter)(nil)

// Filter rejects a node without a constraint's key (unresolvable: only a
// label on the node helps) and a node whose domain would exceed a
// constraint's maxSkew.
func (f *spreadFilter) Filter(_ context.Context, node *interfaces.NodeInfo) *interfaces.Status {
	podLabels := labels.Set(f.pod.Labels)
	for i := range f.constraints {
		c := &f.constraints[i]
		value, ok := node.Node.Labels[c.key]
		if !ok {
			return interfaces.NewStatus(interfaces.UnschedulableAndUnresolvable, ReasonSpreadNoLabel)
		}
		self := 0
		if c.selector.Matches(podLabels) {
			self = 1
		}
		d := &f.domains[i]
		if d.count[value]+self-d.globalMin(c.minDomains) > int(c.maxSkew) {
			return interfaces.NewStatus(interfaces.Unschedulable, ReasonSpread)
		}
	}
	return nil
}

// Clone copies the counts; the constraints are shared (never changed).
func (f *spreadFilter) Clone() interfaces.PodFilter {
	cp := &spreadFilter{pod: f.pod, constraints: f.constraints, domains: make([]spreadDomains, len(f.domains))}
	for i, d := range f.domains {
		counts := make(map[string]int, len(d.count))
		for k, v := range d.count {
			counts[k] = v
		}
		cp.domains[i] = spreadDomains{count: counts, min: d.min, atMin: d.atMin}
	}
	return cp
}

// RemovePod takes p out of its node's domains.
func (f *spreadFilter) RemovePod(_ context.Context, p *corev1.Pod, node *interfaces.NodeInfo) {
	f.update(p, node, -1)
}

// AddPod puts p into its node's domains.
func (f *spreadFilter) AddPod(_ context.Context, p *corev1.Pod, node *interfaces.NodeInfo) {
	f.update(p, node, 1)
}

func (f *spreadFilter) update(p *corev1.Pod, node *interfaces.NodeInfo, delta int) {
	if node == nil || node.Node == nil || !hasKeys(node.Node, f.constraints) {
		return
	}
	for i := range f.constraints {
		c := &f.constraints[i]
		if !c.counts(f.pod.Namespace, p) || !c.includes(f.pod, node.Node) {
			continue
		}
		f.domains[i].add(node.Node.Labels[c.key], delta)
	}
}

// PreScore counts the pods matching each ScheduleAnyway constraint in the
// domains of the feasible nodes (over every eligible node of the cluster),
// as kube-scheduler does; per-node domains (kubernetes.io/hostname) are
// counted when a node is scored.
func (t TopologySpread) PreScore(_ context.Context, pod *corev1.Pod, feasible, all []*interfaces.NodeInfo) (interfaces.PodScorer, *interfaces.Status) {
	if len(all) == 0 {
		return nil, nil
	}
	var cs []spreadConstraint
	// requireAll: a node lacking a key is not scored (for the pod's own
	// constraints; the system defaults score it by the keys it has).
	requireAll := true
	if len(pod.Spec.TopologySpreadConstraints) > 0 {
		var err error
		if cs, err = spreadConstraints(pod, corev1.ScheduleAnyway); err != nil {
			return nil, interfaces.NewStatus(interfaces.Error, err.Error())
		}
	} else if t.args.SystemDefaults {
		if sel := t.args.Selectors.Selector(pod); sel != nil && !sel.Empty() {
			cs, requireAll = systemDefaultSpread(sel), false
		}
	}
	if len(cs) == 0 {
		return nil, nil
	}
	s := &spreadScorer{pod: pod, constraints: cs, ignored: make([]bool, len(feasible)), byName: make(map[string]int, len(feasible)),
		counts: make([]map[string]int, len(cs)), weights: make([]float64, len(cs))}
	for i := range cs {
		s.counts[i] = map[string]int{}
	}
	scored := 0
	for j, n := range feasible {
		s.byName[n.Node.Name] = j
		if requireAll && !hasKeys(n.Node, cs) {
			s.ignored[j] = true
			continue
		}
		scored++
		for i := range cs {
			if cs[i].key != corev1.LabelHostname {
				s.counts[i][n.Node.Labels[cs[i].key]] = 0
			}
		}
	}
	for i := range cs {
		size := len(s.counts[i])
		if cs[i].key == corev1.LabelHostname {
			size = scored
		}
		// Each constraint weighs the log of its number of domains, so that
		// the counts of a topology with few domains are not watered down.
		s.weights[i] = math.Log(float64(size + 2))
	}
	for _, n := range all {
		if n == nil || n.Node == nil || (requireAll && !hasKeys(n.Node, cs)) {
			continue
		}
		for i := range cs {
			c := &cs[i]
			if c.key == corev1.LabelHostname || !c.includes(pod, n.Node) {
				continue
			}
			// A node without the key (system defaults only) joins the ""
			// domain, which only weighs the constraint: Score reads no
			// count for a node without the key, so its pods are not
			// counted (upstream counts them into "", read only by a node
			// whose label is present and empty).
			v, has := n.Node.Labels[c.key]
			if !has {
				continue
			}
			if cur, ok := s.counts[i][v]; ok {
				s.counts[i][v] = cur + c.matching(pod.Namespace, n.PodList)
			}
		}
	}
	return s, nil
}

// spreadScorer is PodTopologySpread's PodScorer for one pod.
type spreadScorer struct {
	pod         *corev1.Pod
	constraints []spreadConstraint
	// ignored marks the feasible nodes (by position) that lack a key; they
	// score 0. byName finds a node's position.
	ignored []bool
	byName  map[string]int
	counts  []map[string]int
	weights []float64
}

var (
	_ interfaces.PodScorer       = (*spreadScorer)(nil)
	_ interfaces.ScoreNormalizer = (*spreadScorer)(nil)
)

// Score is the raw score, higher for more matching pods: per constraint,
// the domain's count times the constraint's weight plus maxSkew - 1 (which
// waters down small differences); NormalizeScore turns it around.
func (s *spreadScorer) Score(_ context.Context, node *interfaces.NodeInfo) (int64, *interfaces.Status) {
	if j, ok := s.byName[node.Node.Name]; !ok || s.ignored[j] {
		return 0, nil
	}
	var score float64
	for i := range s.constraints {
		c := &s.constraints[i]
		v, ok := node.Node.Labels[c.key]
		if !ok {
			continue
		}
		cnt := s.counts[i][v]
		if c.key == corev1.LabelHostname {
			cnt = c.matching(s.pod.Namespace, node.PodList)
		}
		score += float64(cnt)*s.weights[i] + float64(c.maxSkew-1)
	}
	return int64(math.Round(score)), nil
}

// NormalizeScore maps the raw scores onto [0, MaxNodeScore], the fewest
// matching pods highest: MaxNodeScore × (max + min − score) / max, every
// node MaxNodeScore when max is 0, and 0 for the nodes that lack a key.
func (s *spreadScorer) NormalizeScore(_ context.Context, _ *corev1.Pod, scores []int64) *interfaces.Status {
	minScore, maxScore := int64(math.MaxInt64), int64(0)
	for j, v := range scores {
		if j < len(s.ignored) && s.ignored[j] {
			continue
		}
		minScore, maxScore = min(minScore, v), max(maxScore, v)
	}
	for j, v := range scores {
		switch {
		case j < len(s.ignored) && s.ignored[j]:
			scores[j] = 0
		case maxScore == 0:
			scores[j] = interfaces.MaxNodeScore
		default:
			scores[j] = interfaces.MaxNodeScore * (maxScore + minScore - v) / maxScore
		}
	}
	return nil
}
