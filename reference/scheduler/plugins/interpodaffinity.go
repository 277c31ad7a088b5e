package plugins

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/clusterkit/clusterkit/interfaces"
)

// InterPodAffinityName is the inter-pod affinity plugin's name.
const InterPodAffinityName = "InterPodAffinity"

// Reasons of the InterPodAffinity filter, in Kubernetes' wording.
const (
	ReasonPodAffinity          = "node(s) didn't match pod affinity rules"
	ReasonPodAntiAffinity      = "node(s) didn't match pod anti-affinity rules"
	ReasonExistingAntiAffinity = "node(s) didn't satisfy existing pods anti-affinity rules"
)

// InterPodAffinityArgs configures InterPodAffinity, as kube-scheduler's
// InterPodAffinityArgs.
type InterPodAffinityArgs struct {
	// HardPodAffinityWeight is what a bound pod's required affinity term
	// that a new pod matches adds to the score of the term's domain
	// (0-100; nil means kube-scheduler's default, 1).
	HardPodAffinityWeight *int32
}

// InterPodAffinity is kube-scheduler's InterPodAffinity: a filter (with
// PreFilter) on the required podAffinity and podAntiAffinity terms of the
// new pod and on the required podAntiAffinity terms of the pods already
// bound, and a score (with PreScore and normalization) on the preferred
// terms of both.
//
// A topology domain is a pair (topologyKey, the node's value of it); a node
// without the label is in no domain. Required affinity holds on a node when
// for every term the node's domain holds a pod matching all the terms (the
// first pod of a group matching its own terms may go to any node carrying
// every topologyKey when no pod matches yet); anti-affinity, the new pod's
// or a bound pod's, holds when no domain of the node holds a pod it
// matches.
type InterPodAffinity struct {
	hardWeight int64
	ns         interfaces.NamespaceLister
	// terms keeps the bound pods' parsed terms between scheduling cycles.
	terms *termCache
}

// termCache keeps the parsed terms of bound pods, by pod object (a
// scheduler's cache replaces a pod's object when the pod changes, and never
// changes one), so that a cycle parses only the pods it has not seen. Pods
// with the same terms in the same namespace (the replicas of one template)
// share one parsed copy, so that a cycle can match each distinct term once
// (termMemo). It holds two generations: once the current one has grown to
// twice the size of the previous, it becomes the previous, and what was not
// used in the meantime is dropped.
type termCache struct {
	mu        sync.Mutex
	cur, prev map[*corev1.Pod]*podTerms
	// shapes interns parsed terms by namespace and terms (termShape).
	curShapes, prevShapes map[string]*podTerms
}

func newTermCache() *termCache {
	return &termCache{cur: map[*corev1.Pod]*podTerms{}, prev: map[*corev1.Pod]*podTerms{},
		curShapes: map[string]*podTerms{}, prevShapes: map[string]*podTerms{}}
}

// of returns the pod's terms (none when a selector does not parse: such a
// bound pod's terms select nothing).
func (c *termCache) of(p *corev1.Pod) *podTerms {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.cur[p]; ok {
		return t
	}
	t, ok := c.prev[p]
	if !ok {
		shape := termShape(p)
		if t, ok = c.curShapes[shape]; !ok {
			if t, ok = c.prevShapes[shape]; !ok {
				parsed, err := termsOf(p, false)
				if err != nil {
					parsed = podTerms{}
				}
				t = &parsed
			}
			c.curShapes[shape] = t
		}
	}
	if len(c.cur) >= 2*max(len(c.prev), 512) {
		c.prev, c.cur = c.cur, make(map[*corev1.Pod]*podTerms, len(c.cur))
		c.prevShapes, c.curShapes = c.curShapes, make(map[string]*podTerms, len(c.curShapes))
	}
	c.cur[p] = t
	return t
}

// termShape is what a pod's parsed terms depend on: its namespace (the
// default of a term's namespaces) and its inter-pod affinity.
func termShape(p *corev1.Pod) string {
	var pa, anti []byte
	if a := p.Spec.Affinity; a != nil {
		pa, _ = json.Marshal(a.PodAffinity)
		anti, _ = json.Marshal(a.PodAntiAffinity)
	}
	return p.Namespace + "\x00" + string(pa) + "\x00" + string(anti)
}

// termMemo remembers, within one cycle, whether each (shared) parsed term
// of the bound pods matches the pod being scheduled.
type termMemo map[*affinityTerm]bool

func (m termMemo) matches(t *affinityTerm, pod *corev1.Pod, nsLabels labels.Set) bool {
	v, ok := m[t]
	if !ok {
		v = t.matches(pod, nsLabels)
		m[t] = v
	}
	return v
}

var (
	_ interfaces.PreFilterPlugin = (*InterPodAffinity)(nil)
	_ interfaces.PreScorePlugin  = (*InterPodAffinity)(nil)
	_ interfaces.PodEventsPlugin = (*InterPodAffinity)(nil)
)

// NewInterPodAffinity builds InterPodAffinity. It accepts
// InterPodAffinityArgs (or a pointer to them) and reads Namespaces from a
// Handle that is an interfaces.NamespaceHandle.
func NewInterPodAffinity(h interfaces.Handle) (interfaces.Plugin, error) {
	pl := &InterPodAffinity{hardWeight: 1, terms: newTermCache()}
	var args InterPodAffinityArgs
	if h != nil {
		switch a := h.Args().(type) {
		case nil:
		case InterPodAffinityArgs:
			args = a
		case *InterPodAffinityArgs:
			args = *a
		default:
			return nil, fmt.Errorf("%s takes InterPodAffinityArgs, got %T", InterPodAffinityName, a)
		}
		if nh, ok := h.(interfaces.NamespaceHandle); ok {
			pl.ns = nh.Namespaces()
		}
	}
	if w := args.HardPodAffinityWeight; w != nil {
		if *w < 0 || *w > 100 {
			return nil, fmt.Errorf("%s: hardPodAffinityWeight %d is not within 0-100", InterPodAffinityName, *w)
		}
		pl.hardWeight = int64(*w)
	}
	return pl, nil
}

// Name implements interfaces.Plugin.
func (*InterPodAffinity) Name() string { return InterPodAffinityName }

// RetryOnPodChange implements interfaces.PodEventsPlugin: a pod bound or
// relabelled may satisfy a pending pod's affinity.
func (*InterPodAffinity) RetryOnPodChange() bool { return true }

// HasPodAffinity reports whether the pod has an inter-pod affinity or
// anti-affinity term, required or preferred (what
// interfaces.NodeInfo.PodsWithAffinity holds).
func HasPodAffinity(pod *corev1.Pod) bool {
	a := pod.Spec.Affinity
	if a == nil {
		return false
	}
	if pa := a.PodAffinity; pa != nil && (len(pa.RequiredDuringSchedulingIgnoredDuringExecution) > 0 || len(pa.PreferredDuringSchedulingIgnoredDuringExecution) > 0) {
		return true
	}
	pa := a.PodAntiAffinity
	return pa != nil && (len(pa.RequiredDuringSchedulingIgnoredDuringExecution) > 0 || len(pa.PreferredDuringSchedulingIgnoredDuringExecution) > 0)
}

// affinityTerm is a podAffinityTerm ready to match pods.
type affinityTerm struct {
	// namespaces are the namespaces named (the pod's own when neither
	// namespaces nor a namespaceSelector is given).
	namespaces map[string]bool
	// nsSelector matches namespace labels (labels.Nothing() when null).
	nsSelector  labels.Selector
	selector    labels.Selector
	topologyKey string
	weight      int64
}

// matches reports whether pod, whose namespace has nsLabels, is one the
// term selects.
func (t *affinityTerm) matches(pod *corev1.Pod, nsLabels labels.Set) bool {
	if !t.namespaces[pod.Namespace] && !t.nsSelector.Matches(nsLabels) {
		return false
	}
	return t.selector.Matches(labels.Set(pod.Labels))
}

// newTerm prepares a term of owner (whose namespace is the default).
func newTerm(owner *corev1.Pod, t *corev1.PodAffinityTerm, weight int32) (affinityTerm, error) {
	sel, err := metav1.LabelSelectorAsSelector(t.LabelSelector)
	if err != nil {
		return affinityTerm{}, err
	}
	nsSel, err := metav1.LabelSelectorAsSelector(t.NamespaceSelector)
	if err != nil {
		return affinityTerm{}, err
	}
	ns := make(map[string]bool, max(1, len(t.Namespaces)))
	if len(t.Namespaces) == 0 && t.NamespaceSelector == nil {
		ns[owner.Namespace] = true
	}
	for _, n := range t.Namespaces {
		ns[n] = true
	}
	return affinityTerm{namespaces: ns, nsSelector: nsSel, selector: sel, topologyKey: t.TopologyKey, weight: int64(weight)}, nil
}

// podTerms are a pod's terms, each kind in its own list.
type podTerms struct {
	affinity, anti                   []affinityTerm
	preferredAffinity, preferredAnti []affinityTerm
}

// termsOf prepares the pod's terms; required only skips the preferred ones.
func termsOf(pod *corev1.Pod, requiredOnly bool) (podTerms, error) {
	var out podTerms
	a := pod.Spec.Affinity
	if a == nil {
		return out, nil
	}
	add := func(dst *[]affinityTerm, t *corev1.PodAffinityTerm, w int32) error {
		term, err := newTerm(pod, t, w)
		if err != nil {
			return err
		}
		*dst = append(*dst, term)
		return nil
	}
	var req, anti []corev1.PodAffinityTerm
	var pref, prefAnti []corev1.WeightedPodAffinityTerm
	if a.PodAffinity != nil {
		req, pref = a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution, a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution
	}
	if a.PodAntiAffinity != nil {
		anti, prefAnti = a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution
	}
	for i := range req {
		if err := add(&out.affinity, &req[i], 1); err != nil {
			return out, err
		}
	}
	for i := range anti {
		if err := add(&out.anti, &anti[i], 1); err != nil {
			return out, err
		}
	}
	if requiredOnly {
		return out, nil
	}
	for i := range pref {
		if err := add(&out.preferredAffinity, &pref[i].PodAffinityTerm, pref[i].Weight); err != nil {
			return out, err
		}
	}
	for i := range prefAnti {
		if err := add(&out.preferredAnti, &prefAnti[i].PodAffinityTerm, prefAnti[i].Weight); err != nil {
			return out, err
		}
	}
	return out, nil
}

// resolveNamespaces folds a new pod's namespaceSelectors into its terms'
// namespaces, so that matching a bound pod needs no namespace lookup: an
// empty selector ({}) stays (it matches every namespace), any other is
// replaced by the names of the namespaces it matches now.
func (pl *InterPodAffinity) resolveNamespaces(terms []affinityTerm) {
	for i := range terms {
		t := &terms[i]
		if t.nsSelector.Empty() {
			continue
		}
		if pl.ns != nil {
			for _, n := range pl.ns.NamespacesMatching(t.nsSelector) {
				t.namespaces[n] = true
			}
		}
		t.nsSelector = labels.Nothing()
	}
}

// namespaceLabels are the labels of the pod's namespace (nil when unknown).
func (pl *InterPodAffinity) namespaceLabels(pod *corev1.Pod) labels.Set {
	if pl.ns == nil {
		return nil
	}
	l, _ := pl.ns.NamespaceLabels(pod.Namespace)
	return l
}

// matchesAll reports whether pod matches every term (false for none).
func matchesAll(terms []affinityTerm, pod *corev1.Pod) bool {
	if len(terms) == 0 {
		return false
	}
	for i := range terms {
		if !terms[i].matches(pod, nil) {
			return false
		}
	}
	return true
}

// topologyPair is one topology domain.
type topologyPair struct{ key, value string }

// domainCounts counts matching pods per topology domain.
type domainCounts map[topologyPair]int64

// add adds n for the node's domain of key (nothing when the node has no
// such label); an entry down to zero is dropped.
func (m domainCounts) add(node *corev1.Node, key string, n int64) {
	v, ok := node.Labels[key]
	if !ok {
		return
	}
	p := topologyPair{key, v}
	m[p] += n
	if m[p] == 0 {
		delete(m, p)
	}
}

func (m domainCounts) clone() domainCounts {
	out := make(domainCounts, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// affinityFilter is InterPodAffinity's PodFilter for one pod.
type affinityFilter struct {
	pod      *corev1.Pod
	nsLabels labels.Set
	terms    podTerms
	// self: the pod matches all its own affinity terms.
	self bool
	// cache holds the bound pods' parsed terms.
	cache *termCache
	// affinity counts, per domain of each affinity term, the pods matching
	// all of them; anti the pods matching each anti-affinity term; existing
	// the bound pods whose required anti-affinity terms match the pod.
	affinity, anti, existing domainCounts
	// memo: whether bound pods' terms match the pod.
	memo termMemo
}

var _ interfaces.PodFilter = (*affinityFilter)(nil)

// PreFilter counts, per topology domain, the bound pods whose required
// anti-affinity matches the pod (looking only at the nodes' pods with
// affinity), and, when the pod has required terms, the pods matching them.
// It returns no filter when neither the pod nor a bound pod's anti-affinity
// has anything to check.
func (pl *InterPodAffinity) PreFilter(_ context.Context, pod *corev1.Pod, nodes []*interfaces.NodeInfo) (interfaces.PodFilter, *interfaces.Status) {
	terms, err := termsOf(pod, true)
	if err != nil {
		return nil, interfaces.NewStatus(interfaces.UnschedulableAndUnresolvable, fmt.Sprintf("parsing pod: %v", err))
	}
	pl.resolveNamespaces(terms.affinity)
	pl.resolveNamespaces(terms.anti)
	f := &affinityFilter{pod: pod, terms: terms, cache: pl.terms,
		affinity: domainCounts{}, anti: domainCounts{}, existing: domainCounts{}, memo: termMemo{}}
	hasTerms := len(terms.affinity) > 0 || len(terms.anti) > 0
	nsRead := false
	for _, n := range nodes {
		if n == nil || n.Node == nil {
			continue
		}
		if len(n.PodsWithAffinity) > 0 {
			if !nsRead {
				f.nsLabels, nsRead = pl.namespaceLabels(pod), true
			}
			for _, p := range n.PodsWithAffinity {
				f.countExisting(p, n.Node, 1)
			}
		}
		if hasTerms {
			for _, p := range n.PodList {
				f.countIncoming(p, n.Node, 1)
			}
		}
	}
	if !hasTerms && len(f.existing) == 0 {
		return nil, nil
	}
	if !nsRead {
		// For preemption's AddPod of a pod with anti-affinity.
		f.nsLabels = pl.namespaceLabels(pod)
	}
	f.self = matchesAll(terms.affinity, pod)
	return f, nil
}

// countExisting counts (n = 1) or uncounts (n = -1) the required
// anti-affinity terms of a bound pod p on node that match the new pod.
func (f *affinityFilter) countExisting(p *corev1.Pod, node *corev1.Node, n int64) {
	if p.Spec.Affinity == nil || p.Spec.Affinity.PodAntiAffinity == nil ||
		len(p.Spec.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) == 0 {
		return
	}
	terms := f.cache.of(p)
	for i := range terms.anti {
		if f.memo.matches(&terms.anti[i], f.pod, f.nsLabels) {
			f.existing.add(node, terms.anti[i].topologyKey, n)
		}
	}
}

// countIncoming counts (or uncounts) p on node against the new pod's
// required terms.
func (f *affinityFilter) countIncoming(p *corev1.Pod, node *corev1.Node, n int64) {
	if matchesAll(f.terms.affinity, p) {
		for i := range f.terms.affinity {
			f.affinity.add(node, f.terms.affinity[i].topologyKey, n)
		}
	}
	for i := range f.terms.anti {
		if f.terms.anti[i].matches(p, nil) {
			f.anti.add(node, f.terms.anti[i].topologyKey, n)
		}
	}
}

// Filter checks, in kube-scheduler's order, the pod's affinity
// (UnschedulableAndUnresolvable: removing pods cannot help), its
// anti-affinity and the bound pods' anti-affinity (Unschedulable:
// preemption may remove the pods in the way).
func (f *affinityFilter) Filter(_ context.Context, n *interfaces.NodeInfo) *interfaces.Status {
	if !f.affinityHolds(n.Node) {
		return interfaces.NewStatus(interfaces.UnschedulableAndUnresolvable, ReasonPodAffinity)
	}
	if len(f.anti) > 0 {
		for i := range f.terms.anti {
			key := f.terms.anti[i].topologyKey
			if v, ok := n.Node.Labels[key]; ok && f.anti[topologyPair{key, v}] > 0 {
				return interfaces.NewStatus(interfaces.Unschedulable, ReasonPodAntiAffinity)
			}
		}
	}
	if len(f.existing) > 0 {
		for k, v := range n.Node.Labels {
			if f.existing[topologyPair{k, v}] > 0 {
				return interfaces.NewStatus(interfaces.Unschedulable, ReasonExistingAntiAffinity)
			}
		}
	}
	return nil
}

// affinityHolds: every affinity term's domain of the node holds a pod
// matching all terms, or no pod anywhere does and the pod matches its own
// terms (the node must still carry every topologyKey).
func (f *affinityFilter) affinityHolds(node *corev1.Node) bool {
	if len(f.terms.affinity) == 0 {
		return true
	}
	found := true
	for i := range f.terms.affinity {
		key := f.terms.affinity[i].topologyKey
		v, ok := node.Labels[key]
		if !ok {
			return false
		}
		if f.affinity[topologyPair{key, v}] <= 0 {
			found = false
		}
	}
	return found || (len(f.affinity) == 0 && f.self)
}

// Clone implements interfaces.PodFilter.
func (f *affinityFilter) Clone() interfaces.PodFilter {
	cp := *f
	cp.affinity, cp.anti, cp.existing = f.affinity.clone(), f.anti.clone(), f.existing.clone()
	cp.memo = termMemo{}
	return &cp
}

// RemovePod implements interfaces.PodFilter.
func (f *affinityFilter) RemovePod(_ context.Context, p *corev1.Pod, n *interfaces.NodeInfo) {
	f.update(p, n.Node, -1)
}

// AddPod implements interfaces.PodFilter.
func (f *affinityFilter) AddPod(_ context.Context, p *corev1.Pod, n *interfaces.NodeInfo) {
	f.update(p, n.Node, 1)
}

func (f *affinityFilter) update(p *corev1.Pod, node *corev1.Node, n int64) {
	if node == nil {
		return
	}
	f.countExisting(p, node, n)
	f.countIncoming(p, node, n)
}

// affinityScorer is InterPodAffinity's PodScorer: a score per topology
// domain, summed over the node's domains.
type affinityScorer struct {
	scores map[string]map[string]int64
}

var (
	_ interfaces.PodScorer       = (*affinityScorer)(nil)
	_ interfaces.ScoreNormalizer = (*affinityScorer)(nil)
)

// PreScore sums, per topology domain, the weights of the pod's preferred
// terms matching the bound pods there (anti-affinity negative), and of the
// bound pods' preferred terms matching the pod (and their required
// affinity terms, at HardPodAffinityWeight). Without preferred terms of its
// own the pod is only scored against the nodes' pods with affinity. It
// returns no scorer when no domain got a score.
func (pl *InterPodAffinity) PreScore(_ context.Context, pod *corev1.Pod, _, all []*interfaces.NodeInfo) (interfaces.PodScorer, *interfaces.Status) {
	terms, err := termsOf(pod, false)
	if err != nil {
		return nil, interfaces.NewStatus(interfaces.Error, fmt.Sprintf("parsing pod: %v", err))
	}
	own := len(terms.preferredAffinity) > 0 || len(terms.preferredAnti) > 0
	pl.resolveNamespaces(terms.preferredAffinity)
	pl.resolveNamespaces(terms.preferredAnti)
	var nsLabels labels.Set
	nsRead := false
	s := &affinityScorer{scores: map[string]map[string]int64{}}
	memo := termMemo{}
	add := func(node *corev1.Node, t *affinityTerm, w int64) {
		v, ok := node.Labels[t.topologyKey]
		if !ok {
			return
		}
		m := s.scores[t.topologyKey]
		if m == nil {
			m = map[string]int64{}
			s.scores[t.topologyKey] = m
		}
		m[v] += w
	}
	for _, n := range all {
		if n == nil || n.Node == nil || len(n.Node.Labels) == 0 {
			continue
		}
		pods := n.PodsWithAffinity
		if own {
			pods = n.PodList
		}
		for _, p := range pods {
			for i := range terms.preferredAffinity {
				if t := &terms.preferredAffinity[i]; t.matches(p, nil) {
					add(n.Node, t, t.weight)
				}
			}
			for i := range terms.preferredAnti {
				if t := &terms.preferredAnti[i]; t.matches(p, nil) {
					add(n.Node, t, -t.weight)
				}
			}
			if !HasPodAffinity(p) {
				continue
			}
			theirs := pl.terms.of(p)
			if !nsRead {
				nsLabels, nsRead = pl.namespaceLabels(pod), true
			}
			if pl.hardWeight > 0 {
				for i := range theirs.affinity {
					if t := &theirs.affinity[i]; memo.matches(t, pod, nsLabels) {
						add(n.Node, t, pl.hardWeight)
					}
				}
			}
			for i := range theirs.preferredAffinity {
				if t := &theirs.preferredAffinity[i]; memo.matches(t, pod, nsLabels) {
					add(n.Node, t, t.weight)
				}
			}
			for i := range theirs.preferredAnti {
				if t := &theirs.preferredAnti[i]; memo.matches(t, pod, nsLabels) {
					add(n.Node, t, -t.weight)
				}
			}
		}
	}
	if len(s.scores) == 0 {
		return nil, nil
	}
	return s, nil
}

// Score is the sum of the scores of the node's domains (raw: may be
// negative or above MaxNodeScore; NormalizeScore rescales).
func (s *affinityScorer) Score(_ context.Context, n *interfaces.NodeInfo) (int64, *interfaces.Status) {
	var total int64
	for key, values := range s.scores {
		if v, ok := n.Node.Labels[key]; ok {
			total += values[v]
		}
	}
	return total, nil
}

// NormalizeScore maps the raw scores linearly onto [0, MaxNodeScore], the
// lowest to 0 and the highest to MaxNodeScore (all 0 when they are equal),
// as kube-scheduler does.
func (s *affinityScorer) NormalizeScore(_ context.Context, _ *corev1.Pod, scores []int64) *interfaces.Status {
	NormalizeMinMax(scores)
	return nil
}

// NormalizeMinMax rescales scores in place: MaxNodeScore × (s − min) /
// (max − min), truncated; every score 0 when max = min.
func NormalizeMinMax(scores []int64) {
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for _, v := range scores {
		lo, hi = min(lo, v), max(hi, v)
	}
	for i, v := range scores {
		if hi > lo {
			scores[i] = int64(float64(interfaces.MaxNodeScore) * float64(v-lo) / float64(hi-lo))
		} else {
			scores[i] = 0
		}
	}
}
