package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/scheduler/plugins"
)

// Profile selects and configures the plugins of a scheduler.
type Profile struct {
	// Filters run in this order; a node is rejected by the first that fails.
	Filters []string
	// Scores maps each score plugin to its weight (> 0).
	Scores map[string]int64
	// Args holds plugin configuration by plugin name, handed to the
	// plugin's factory (see each plugin's documentation).
	Args map[string]any
	// PercentageOfNodesToScore bounds how many feasible nodes are looked for
	// before scoring, as in Kubernetes: 0 adapts to the cluster's size
	// (every node below 100 nodes, down to 5% on large clusters, never
	// fewer than 100 nodes); 100 always evaluates every node.
	PercentageOfNodesToScore int32
	// Preemption configures what a pod that fits nowhere may do to pods of
	// lower priority (preemption.go); the zero value is kube-scheduler's
	// DefaultPreemption.
	Preemption PreemptionArgs
}

// PreemptionArgs configures preemption.
type PreemptionArgs struct {
	// Disabled turns preemption off: a pod that fits nowhere only waits.
	Disabled bool
	// MayEvict decides whether victim may be deleted to make room for
	// preemptor; nil is Kubernetes' rule, a strictly lower spec.priority.
	MayEvict func(preemptor, victim *corev1.Pod) bool
}

// DefaultProfile is the reference scheduler's profile: every plugin of
// package plugins, NodeResourcesFit scoring with the given strategy
// (LeastAllocated when empty).
func DefaultProfile(scoring interfaces.SchedulerScoring) Profile {
	if scoring == "" {
		scoring = interfaces.LeastAllocated
	}
	return Profile{
		Filters: plugins.DefaultFilters(),
		Scores:  plugins.DefaultScores(),
		Args:    map[string]any{plugins.NodeResourcesFitName: plugins.FitArgs{Scoring: scoring}},
	}
}

// handle is what the framework hands each plugin factory: the plugin's
// arguments and the Namespaces (interfaces.NamespaceHandle).
type handle struct {
	args any
	ns   *namespaceSource
}

func (h handle) Args() any { return h.args }

// Namespaces implements interfaces.NamespaceHandle.
func (h handle) Namespaces() interfaces.NamespaceLister { return h.ns }

var _ interfaces.NamespaceHandle = handle{}

// filterEntry is one filter of the profile: a per-node FilterPlugin, or a
// PreFilterPlugin whose PodFilter filters the nodes.
type filterEntry struct {
	name string
	node interfaces.FilterPlugin
	pre  interfaces.PreFilterPlugin
	// podEvents: a pod this filter rejects is retried when another pod is
	// bound or relabelled (interfaces.PodEventsPlugin).
	podEvents bool
}

// scoreEntry is one score of the profile with its weight: a per-node
// ScorePlugin, or a PreScorePlugin whose PodScorer scores the nodes.
type scoreEntry struct {
	name   string
	node   interfaces.ScorePlugin
	pre    interfaces.PreScorePlugin
	weight int64
}

// Framework is a profile's plugins, built. Its Place is the placement
// decision as a pure function; it is safe for concurrent use.
type Framework struct {
	filters []filterEntry
	scores  []scoreEntry
	pct     int32
	preempt PreemptionArgs
	// ns is the Namespaces the plugins read; Run backs it with an informer.
	ns *namespaceSource
}

var _ interfaces.Placer = (*Framework)(nil)

// NewFramework builds the profile's plugins from the registry; a plugin
// named in the profile but missing from the registry, or of the wrong kind,
// is an error.
func NewFramework(reg interfaces.Registry, p Profile) (*Framework, error) {
	built := map[string]interfaces.Plugin{}
	ns := &namespaceSource{}
	build := func(name string) (interfaces.Plugin, error) {
		if pl, ok := built[name]; ok {
			return pl, nil
		}
		f, ok := reg[name]
		if !ok {
			return nil, fmt.Errorf("scheduler profile: plugin %q is not registered", name)
		}
		pl, err := f(handle{args: p.Args[name], ns: ns})
		if err != nil {
			return nil, fmt.Errorf("scheduler profile: building plugin %q: %w", name, err)
		}
		if pl.Name() != name {
			return nil, fmt.Errorf("scheduler profile: plugin registered as %q calls itself %q", name, pl.Name())
		}
		built[name] = pl
		return pl, nil
	}
	fw := &Framework{pct: p.PercentageOfNodesToScore, preempt: p.Preemption, ns: ns}
	if fw.preempt.MayEvict == nil {
		fw.preempt.MayEvict = lowerPriority
	}
	if fw.pct < 0 || fw.pct > 100 {
		return nil, fmt.Errorf("scheduler profile: percentageOfNodesToScore %d is not within 0-100", fw.pct)
	}
	for _, name := range p.Filters {
		pl, err := build(name)
		if err != nil {
			return nil, err
		}
		e := filterEntry{name: name}
		if pe, ok := pl.(interfaces.PodEventsPlugin); ok {
			e.podEvents = pe.RetryOnPodChange()
		}
		switch fp := pl.(type) {
		case interfaces.PreFilterPlugin:
			e.pre = fp
		case interfaces.FilterPlugin:
			e.node = fp
		default:
			return nil, fmt.Errorf("scheduler profile: plugin %q is not a filter plugin", name)
		}
		fw.filters = append(fw.filters, e)
	}
	names := make([]string, 0, len(p.Scores))
	for name := range p.Scores {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		w := p.Scores[name]
		if w <= 0 {
			return nil, fmt.Errorf("scheduler profile: score plugin %q has weight %d; weights must be positive", name, w)
		}
		pl, err := build(name)
		if err != nil {
			return nil, err
		}
		e := scoreEntry{name: name, weight: w}
		switch sp := pl.(type) {
		case interfaces.PreScorePlugin:
			e.pre = sp
		case interfaces.ScorePlugin:
			e.node = sp
		default:
			return nil, fmt.Errorf("scheduler profile: plugin %q is not a score plugin", name)
		}
		fw.scores = append(fw.scores, e)
	}
	return fw, nil
}

// numFeasibleToFind is how many feasible nodes are enough, Kubernetes'
// adaptive rule.
func (f *Framework) numFeasibleToFind(all int) int {
	const minNodes = 100
	if all < minNodes || f.pct >= 100 {
		return all
	}
	pct := int(f.pct)
	if pct == 0 {
		pct = 50 - all/125
		if pct < 5 {
			pct = 5
		}
	}
	n := all * pct / 100
	if n < minNodes {
		return minNodes
	}
	return n
}

// cycle is one scheduling attempt of a pod: the PodFilters its PreFilter
// plugins computed from the snapshot, by filter position.
type cycle struct {
	f   *Framework
	pod *corev1.Pod
	pre []interfaces.PodFilter
	// rejected is a PreFilter's failure, which rejects every node.
	rejected *interfaces.Status
}

// prefilter runs the PreFilter plugins on the snapshot for pod. A plugin's
// Error is returned as an error; its Unschedulable answer rejects every node.
func (f *Framework) prefilter(ctx context.Context, pod *corev1.Pod, nodes []*interfaces.NodeInfo) (*cycle, error) {
	c := &cycle{f: f, pod: pod}
	for i, e := range f.filters {
		if e.pre == nil {
			continue
		}
		pf, st := e.pre.PreFilter(ctx, pod, nodes)
		if !st.IsSuccess() {
			st.Plugin = e.name
			if st.Code == interfaces.Error {
				return nil, fmt.Errorf("scheduling %s/%s: %w", pod.Namespace, pod.Name, st)
			}
			c.rejected = st
			return c, nil
		}
		if pf != nil {
			if c.pre == nil {
				c.pre = make([]interfaces.PodFilter, len(f.filters))
			}
			c.pre[i] = pf
		}
	}
	return c, nil
}

// filter runs the filters on one node; the first failure wins.
func (c *cycle) filter(ctx context.Context, n *interfaces.NodeInfo) *interfaces.Status {
	if c.rejected != nil {
		return c.rejected
	}
	for i, e := range c.f.filters {
		var st *interfaces.Status
		switch {
		case e.node != nil:
			st = e.node.Filter(ctx, c.pod, n)
		case c.pre != nil && c.pre[i] != nil:
			st = c.pre[i].Filter(ctx, n)
		}
		if !st.IsSuccess() {
			st.Plugin = e.name
			return st
		}
	}
	return nil
}

// clone copies the cycle for preemption's what-ifs.
func (c *cycle) clone() *cycle {
	cp := &cycle{f: c.f, pod: c.pod, rejected: c.rejected}
	if c.pre != nil {
		cp.pre = make([]interfaces.PodFilter, len(c.pre))
		for i, pf := range c.pre {
			if pf != nil {
				cp.pre[i] = pf.Clone()
			}
		}
	}
	return cp
}

// removePod and addPod tell the PodFilters that p left or joined node n.
func (c *cycle) removePod(ctx context.Context, p *corev1.Pod, n *interfaces.NodeInfo) {
	for _, pf := range c.pre {
		if pf != nil {
			pf.RemovePod(ctx, p, n)
		}
	}
}

func (c *cycle) addPod(ctx context.Context, p *corev1.Pod, n *interfaces.NodeInfo) {
	for _, pf := range c.pre {
		if pf != nil {
			pf.AddPod(ctx, p, n)
		}
	}
}

// RetriesOnPodChange reports whether a pod that fit nowhere (err from
// Place) was rejected by a filter whose verdict other pods can change, so
// that a pod bound or relabelled should retry it.
func (f *Framework) RetriesOnPodChange(err error) bool {
	var fit *interfaces.FitError
	if !errors.As(err, &fit) {
		return false
	}
	for _, e := range f.filters {
		if e.podEvents && fit.Plugins[e.name] {
			return true
		}
	}
	return false
}

// Fits reports whether the pod passes every filter on the named node of
// the snapshot (false when the node is not in it).
func (f *Framework) Fits(ctx context.Context, pod *corev1.Pod, nodes []*interfaces.NodeInfo, name string) (bool, error) {
	c, err := f.prefilter(ctx, pod, nodes)
	if err != nil {
		return false, err
	}
	for _, n := range nodes {
		if n != nil && n.Node != nil && n.Node.Name == name {
			st := c.filter(ctx, n)
			if st.CodeOf() == interfaces.Error {
				return false, fmt.Errorf("scheduling %s/%s on node %s: %w", pod.Namespace, pod.Name, name, st)
			}
			return st.IsSuccess(), nil
		}
	}
	return false, nil
}

// Place chooses a node for the pod among nodes. It looks at the nodes from
// an offset derived from the pod's namespace and name (so equal nodes are
// spread and the result is reproducible), stops after enough feasible nodes,
// scores them and returns the highest (the first found among equals). When
// none fits it returns a *interfaces.FitError counting each reason; when a
// plugin errors it returns that error.
func (f *Framework) Place(ctx context.Context, pod *corev1.Pod, nodes []*interfaces.NodeInfo) (string, error) {
	node, _, err := f.place(ctx, pod, nodes)
	return node, err
}

// place is Place that also returns, when the pod fits nowhere, which nodes
// (by position in nodes) rejected it as Unschedulable, which preemption may
// change, as kube-scheduler hands its filter statuses to PostFilter.
func (f *Framework) place(ctx context.Context, pod *corev1.Pod, nodes []*interfaces.NodeInfo) (string, []bool, error) {
	all := len(nodes)
	if all == 0 {
		return "", nil, &interfaces.FitError{NumAllNodes: 0, Reasons: map[string]int{}}
	}
	c, err := f.prefilter(ctx, pod, nodes)
	if err != nil {
		return "", nil, err
	}
	start := nodeOffset(pod, all)
	want := f.numFeasibleToFind(all)
	feasible := make([]*interfaces.NodeInfo, 0, min(want, 128))
	var reasons map[string]int
	var rejectedBy map[string]bool
	var resolvable []bool
	for i := 0; i < all && len(feasible) < want; i++ {
		at := (start + i) % all
		n := nodes[at]
		if n == nil || n.Node == nil {
			continue
		}
		st := c.filter(ctx, n)
		switch st.CodeOf() {
		case interfaces.Success:
			feasible = append(feasible, n)
		case interfaces.Error:
			return "", nil, fmt.Errorf("scheduling %s/%s on node %s: %w", pod.Namespace, pod.Name, n.Name(), st)
		case interfaces.Unschedulable:
			if resolvable == nil {
				resolvable = make([]bool, all)
			}
			resolvable[at] = true
			fallthrough
		default:
			if reasons == nil {
				reasons, rejectedBy = map[string]int{}, map[string]bool{}
			}
			for _, r := range st.Reasons {
				reasons[r]++
			}
			rejectedBy[st.Plugin] = true
		}
	}
	if len(feasible) == 0 {
		fit := &interfaces.FitError{NumAllNodes: all, Reasons: reasons, Plugins: rejectedBy}
		if c.rejected != nil {
			// As kube-scheduler: a PreFilter's rejection is said once, not per node.
			fit.PreFilterMsg = strings.Join(c.rejected.Reasons, ", ")
			fit.Reasons = nil
		}
		if resolvable == nil {
			resolvable = make([]bool, all)
		}
		return "", resolvable, fit
	}
	if len(feasible) == 1 || len(f.scores) == 0 {
		return feasible[0].Name(), nil, nil
	}
	totals, err := f.score(ctx, pod, feasible, nodes)
	if err != nil {
		return "", nil, err
	}
	best := 0
	for i, t := range totals {
		if t > totals[best] {
			best = i
		}
	}
	return feasible[best].Name(), nil, nil
}

// score returns the weighted sum of the scores of each feasible node.
func (f *Framework) score(ctx context.Context, pod *corev1.Pod, feasible, all []*interfaces.NodeInfo) ([]int64, error) {
	totals := make([]int64, len(feasible))
	raw := make([]int64, len(feasible))
	for _, e := range f.scores {
		var (
			scoreNode  func(n *interfaces.NodeInfo) (int64, *interfaces.Status)
			normalizer interfaces.ScoreNormalizer
		)
		if e.node != nil {
			scoreNode = func(n *interfaces.NodeInfo) (int64, *interfaces.Status) { return e.node.Score(ctx, pod, n) }
			normalizer, _ = e.node.(interfaces.ScoreNormalizer)
		} else {
			ps, st := e.pre.PreScore(ctx, pod, feasible, all)
			if !st.IsSuccess() {
				st.Plugin = e.name
				return nil, fmt.Errorf("scoring nodes for %s/%s: %w", pod.Namespace, pod.Name, st)
			}
			if ps == nil {
				continue
			}
			scoreNode = func(n *interfaces.NodeInfo) (int64, *interfaces.Status) { return ps.Score(ctx, n) }
			normalizer, _ = ps.(interfaces.ScoreNormalizer)
		}
		for i, n := range feasible {
			v, st := scoreNode(n)
			if !st.IsSuccess() {
				st.Plugin = e.name
				return nil, fmt.Errorf("scoring node %s for %s/%s: %w", n.Name(), pod.Namespace, pod.Name, st)
			}
			raw[i] = v
		}
		if normalizer != nil {
			if st := normalizer.NormalizeScore(ctx, pod, raw); !st.IsSuccess() {
				st.Plugin = e.name
				return nil, fmt.Errorf("normalizing the scores of %s/%s: %w", pod.Namespace, pod.Name, st)
			}
		}
		for i, v := range raw {
			totals[i] += max(0, min(v, interfaces.MaxNodeScore)) * e.weight
		}
	}
	return totals, nil
}
