package scheduler

import (
	"context"
	"fmt"
	"hash/fnv"
	"sort"

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

type handle struct{ args any }

func (h handle) Args() any { return h.args }

type weightedScore struct {
	plugin interfaces.ScorePlugin
	weight int64
}

// Framework is a profile's plugins, built. Its Place is the placement
// decision as a pure function; it is safe for concurrent use.
type Framework struct {
	filters []interfaces.FilterPlugin
	scores  []weightedScore
	pct     int32
	preempt PreemptionArgs
}

var _ interfaces.Placer = (*Framework)(nil)

// NewFramework builds the profile's plugins from the registry; a plugin
// named in the profile but missing from the registry, or of the wrong kind,
// is an error.
func NewFramework(reg interfaces.Registry, p Profile) (*Framework, error) {
	built := map[string]interfaces.Plugin{}
	build := func(name string) (interfaces.Plugin, error) {
		if pl, ok := built[name]; ok {
			return pl, nil
		}
		f, ok := reg[name]
		if !ok {
			return nil, fmt.Errorf("scheduler profile: plugin %q is not registered", name)
		}
		pl, err := f(handle{args: p.Args[name]})
		if err != nil {
			return nil, fmt.Errorf("scheduler profile: building plugin %q: %w", name, err)
		}
		if pl.Name() != name {
			return nil, fmt.Errorf("scheduler profile: plugin registered as %q calls itself %q", name, pl.Name())
		}
		built[name] = pl
		return pl, nil
	}
	fw := &Framework{pct: p.PercentageOfNodesToScore, preempt: p.Preemption}
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
		fp, ok := pl.(interfaces.FilterPlugin)
		if !ok {
			return nil, fmt.Errorf("scheduler profile: plugin %q is not a filter plugin", name)
		}
		fw.filters = append(fw.filters, fp)
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
		sp, ok := pl.(interfaces.ScorePlugin)
		if !ok {
			return nil, fmt.Errorf("scheduler profile: plugin %q is not a score plugin", name)
		}
		fw.scores = append(fw.scores, weightedScore{sp, w})
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

// filter runs the filters on one node; the first failure wins.
func (f *Framework) filter(ctx context.Context, pod *corev1.Pod, n *interfaces.NodeInfo) *interfaces.Status {
	for _, fp := range f.filters {
		if st := fp.Filter(ctx, pod, n); !st.IsSuccess() {
			st.Plugin = fp.Name()
			return st
		}
	}
	return nil
}

// Place chooses a node for the pod among nodes. It looks at the nodes from
// an offset derived from the pod's namespace and name (so equal nodes are
// spread and the result is reproducible), stops after enough feasible nodes,
// scores them and returns the highest (the first found among equals). When
// none fits it returns a *interfaces.FitError counting each reason; when a
// plugin errors it returns that error.
func (f *Framework) Place(ctx context.Context, pod *corev1.Pod, nodes []*interfaces.NodeInfo) (string, error) {
	all := len(nodes)
	if all == 0 {
		return "", &interfaces.FitError{NumAllNodes: 0, Reasons: map[string]int{}}
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(pod.Namespace + "/" + pod.Name))
	start := int(h.Sum32() % uint32(all))
	want := f.numFeasibleToFind(all)
	feasible := make([]*interfaces.NodeInfo, 0, min(want, 128))
	var reasons map[string]int
	for i := 0; i < all && len(feasible) < want; i++ {
		n := nodes[(start+i)%all]
		if n == nil || n.Node == nil {
			continue
		}
		st := f.filter(ctx, pod, n)
		switch st.CodeOf() {
		case interfaces.Success:
			feasible = append(feasible, n)
		case interfaces.Error:
			return "", fmt.Errorf("scheduling %s/%s on node %s: %w", pod.Namespace, pod.Name, n.Name(), st)
		default:
			if reasons == nil {
				reasons = map[string]int{}
			}
			for _, r := range st.Reasons {
				reasons[r]++
			}
		}
	}
	if len(feasible) == 0 {
		return "", &interfaces.FitError{NumAllNodes: all, Reasons: reasons}
	}
	if len(feasible) == 1 || len(f.scores) == 0 {
		return feasible[0].Name(), nil
	}
	best, bestScore := "", int64(-1)
	for _, n := range feasible {
		total := int64(0)
		for _, s := range f.scores {
			v, st := s.plugin.Score(ctx, pod, n)
			if !st.IsSuccess() {
				return "", fmt.Errorf("scoring node %s for %s/%s: %w", n.Name(), pod.Namespace, pod.Name, st)
			}
			v = max(0, min(v, interfaces.MaxNodeScore))
			total += v * s.weight
		}
		if total > bestScore {
			best, bestScore = n.Name(), total
		}
	}
	return best, nil
}
