package scheduler

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/scheduler/plugins"
)

// This file is the scheduler's PostFilter step, preemption, as
// kube-scheduler's DefaultPreemption plugin decides it: when a pod fits no
// node, find the nodes where removing pods of strictly lower priority makes
// it fit, keep as few victims as possible, and pick one node. Like Place it
// is a pure function of (pod, snapshot); run.preempt carries it out.

// PreemptionNode is one node as preemption sees it: the NodeInfo the
// filters run on (with the pods nominated to the node already counted) and
// the pods bound or assumed to it, the possible victims.
type PreemptionNode struct {
	Info *interfaces.NodeInfo
	Pods []*corev1.Pod
}

// Candidate is the outcome of preemption: the node the preemptor is
// nominated to and the pods to delete there, most important first.
type Candidate struct {
	Node    string
	Victims []*corev1.Pod
	// PDBViolations counts the victims whose eviction a
	// PodDisruptionBudget does not allow.
	PDBViolations int
	// Message is what preemption found, in kube-scheduler's words, for the
	// FailedScheduling message (FitError.PostFilterMsg): where it would
	// place the pod, or why no node would do ("" when preemption is off).
	Message string
}

// Preemption's messages, in kube-scheduler's words.
const (
	msgNoVictims    = "No preemption victims found for incoming pod"
	msgNotHelpful   = "Preemption is not helpful for scheduling"
	msgPolicyNever  = "preemption: not eligible due to preemptionPolicy=Never."
	msgTerminating  = "preemption: not eligible due to a terminating pod on the nominated node."
	msgPreemptionOK = "preemption: found a potential placement for pod on node %s, preempting %d victims"
)

// podPriority is a pod's spec.priority (0 when unset), as Kubernetes reads it.
func podPriority(pod *corev1.Pod) int32 {
	if pod.Spec.Priority != nil {
		return *pod.Spec.Priority
	}
	return 0
}

// mayPreempt reports whether the pod's preemptionPolicy lets it preempt
// others (anything but Never).
func mayPreempt(pod *corev1.Pod) bool {
	return pod.Spec.PreemptionPolicy == nil || *pod.Spec.PreemptionPolicy != corev1.PreemptNever
}

// lowerPriority is Kubernetes' rule for victims: a strictly lower priority.
func lowerPriority(preemptor, victim *corev1.Pod) bool {
	return podPriority(victim) < podPriority(preemptor)
}

// moreImportant orders pods as kube-scheduler ranks victims: higher priority
// first, then the one that started earlier.
func moreImportant(a, b *corev1.Pod) bool {
	pa, pb := podPriority(a), podPriority(b)
	if pa != pb {
		return pa > pb
	}
	ta, tb := startTime(a), startTime(b)
	return ta.Before(&tb)
}

// startTime is the pod's status.startTime, or its creation when it has none
// (a pod bound but never started by a kubelet).
func startTime(p *corev1.Pod) metav1.Time {
	if p.Status.StartTime != nil {
		return *p.Status.StartTime
	}
	return p.CreationTimestamp
}

// Preempt finds where the pod could run if lower-priority pods were
// deleted. It returns ok=false when no node would do (or the pod may not
// preempt), with the reason in the Candidate's Message; it returns an error
// when a filter errors. nodes are the nodes of
// the snapshot Place rejected the pod on; pdbs are the cluster's
// PodDisruptionBudgets.
func (f *Framework) Preempt(ctx context.Context, pod *corev1.Pod, nodes []PreemptionNode, pdbs []*policyv1.PodDisruptionBudget) (Candidate, bool, error) {
	return f.preemptAmong(ctx, pod, nodes, nil, pdbs)
}

// preemptAmong is Preempt; when resolvable is not nil it says, for each of
// nodes, whether the filters rejected the pod there as Unschedulable (what
// place returned), and the nodes are not filtered again.
func (f *Framework) preemptAmong(ctx context.Context, pod *corev1.Pod, nodes []PreemptionNode, resolvable []bool, pdbs []*policyv1.PodDisruptionBudget) (Candidate, bool, error) {
	if f.preempt.Disabled {
		return Candidate{}, false, nil
	}
	if !mayPreempt(pod) {
		return Candidate{Message: msgPolicyNever}, false, nil
	}
	infos := make([]*interfaces.NodeInfo, 0, len(nodes))
	for _, n := range nodes {
		if n.Info != nil && n.Info.Node != nil {
			infos = append(infos, n.Info)
		}
	}
	cyc, err := f.prefilter(ctx, pod, infos)
	if err != nil {
		return Candidate{}, false, fmt.Errorf("preemption: %w", err)
	}
	// why counts, for the message, why each node is no candidate.
	why := &interfaces.FitError{NumAllNodes: len(infos), Reasons: map[string]int{}}
	// Only a node rejected for a reason that deleting pods can change
	// (Unschedulable, not UnschedulableAndUnresolvable) is a potential node.
	potential := make([]PreemptionNode, 0, len(nodes))
	for i, n := range nodes {
		if n.Info == nil || n.Info.Node == nil {
			continue
		}
		if resolvable != nil {
			if resolvable[i] {
				potential = append(potential, n)
			} else {
				why.Reasons[msgNotHelpful]++
			}
			continue
		}
		st := cyc.filter(ctx, n.Info)
		switch st.CodeOf() {
		case interfaces.Unschedulable:
			potential = append(potential, n)
		case interfaces.Error:
			return Candidate{}, false, fmt.Errorf("preemption for %s/%s on node %s: %w", pod.Namespace, pod.Name, n.Info.Name(), st)
		default:
			why.Reasons[msgNotHelpful]++
		}
	}
	// As kube-scheduler, dry-run the potential nodes from an offset and
	// stop once enough candidates are found (at least one of them without
	// PodDisruptionBudget violations): the best of a sample, not of all.
	want := numCandidates(len(potential))
	start := 0
	if len(potential) > 0 {
		start = nodeOffset(pod, len(potential))
	}
	var clean, violating []Candidate
	for i := range potential {
		n := potential[(start+i)%len(potential)]
		c, reasons, err := f.selectVictims(ctx, cyc.clone(), n, pdbs)
		if err != nil {
			return Candidate{}, false, err
		}
		if reasons != nil {
			for _, r := range reasons {
				why.Reasons[r]++
			}
			continue
		}
		if c.PDBViolations == 0 {
			clean = append(clean, c)
		} else {
			violating = append(violating, c)
		}
		if len(clean) > 0 && len(clean)+len(violating) >= want {
			break
		}
	}
	candidates := append(clean, violating...)
	if len(candidates) == 0 {
		return Candidate{Message: "preemption: " + why.Error()}, false, nil
	}
	c := pickCandidate(candidates)
	c.Message = fmt.Sprintf(msgPreemptionOK, c.Node, len(c.Victims))
	return c, true, nil
}

// Kubernetes' DefaultPreemption defaults: how many candidates are enough,
// as a share of the potential nodes and as an absolute floor.
const (
	minCandidateNodesPercentage = 10
	minCandidateNodesAbsolute   = 100
)

// numCandidates is how many candidates preemption looks for among the
// potential nodes: 10% of them, at least 100, at most all.
func numCandidates(potential int) int {
	return min(potential, max(potential*minCandidateNodesPercentage/100, minCandidateNodesAbsolute))
}

// nodeOffset is where a pod's walk over n nodes starts: derived from the
// pod's namespace and name, so that pods spread over equal nodes and a
// decision is reproducible (kube-scheduler draws it at random).
func nodeOffset(pod *corev1.Pod, n int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(pod.Namespace + "/" + pod.Name))
	return int(h.Sum32() % uint32(n))
}

// selectVictims removes every lower-priority pod from the node, checks that
// the pod then fits, and adds the removed pods back one by one, the most
// important first and those a PodDisruptionBudget protects before the
// others, keeping each that still leaves room. What cannot be added back
// are the victims. When the node is no candidate it returns why (no
// victims, or the filters' reasons with every victim gone).
func (f *Framework) selectVictims(ctx context.Context, cyc *cycle, n PreemptionNode, pdbs []*policyv1.PodDisruptionBudget) (Candidate, []string, error) {
	pod := cyc.pod
	var possible []*corev1.Pod
	for _, p := range n.Pods {
		if p.UID != pod.UID && f.preempt.MayEvict(pod, p) {
			possible = append(possible, p)
		}
	}
	if len(possible) == 0 {
		return Candidate{}, []string{msgNoVictims}, nil
	}
	// Each possible victim's requests, computed once.
	requests := make(map[*corev1.Pod]corev1.ResourceList, len(possible))
	for _, p := range possible {
		requests[p] = plugins.PodRequests(p)
	}
	// The simulation is filtered, never scored: the NonZero figures are not kept.
	sim := &interfaces.NodeInfo{Node: n.Info.Node, Requested: n.Info.Requested.DeepCopy(), Pods: n.Info.Pods,
		PodList: slices.Clone(n.Info.PodList), PodsWithAffinity: slices.Clone(n.Info.PodsWithAffinity)}
	if sim.Requested == nil {
		sim.Requested = corev1.ResourceList{}
	}
	remove := func(p *corev1.Pod) {
		plugins.SubRequests(sim.Requested, requests[p])
		sim.Pods--
		sim.PodList = slices.DeleteFunc(sim.PodList, func(q *corev1.Pod) bool { return q.UID == p.UID })
		sim.PodsWithAffinity = slices.DeleteFunc(sim.PodsWithAffinity, func(q *corev1.Pod) bool { return q.UID == p.UID })
		cyc.removePod(ctx, p, sim)
	}
	add := func(p *corev1.Pod) {
		plugins.AddRequests(sim.Requested, requests[p])
		sim.Pods++
		sim.PodList = append(sim.PodList, p)
		if plugins.HasPodAffinity(p) {
			sim.PodsWithAffinity = append(sim.PodsWithAffinity, p)
		}
		cyc.addPod(ctx, p, sim)
	}
	for _, p := range possible {
		remove(p)
	}
	if st := cyc.filter(ctx, sim); !st.IsSuccess() {
		if st.CodeOf() == interfaces.Error {
			return Candidate{}, nil, fmt.Errorf("preemption for %s/%s on node %s: %w", pod.Namespace, pod.Name, sim.Name(), st)
		}
		return Candidate{}, append([]string{}, st.Reasons...), nil
	}
	sort.SliceStable(possible, func(i, j int) bool { return moreImportant(possible[i], possible[j]) })
	violating, other := splitByPDB(possible, pdbs)
	c := Candidate{Node: sim.Name()}
	reprieve := func(p *corev1.Pod) (bool, error) {
		add(p)
		st := cyc.filter(ctx, sim)
		if st.IsSuccess() {
			return true, nil
		}
		if st.CodeOf() == interfaces.Error {
			return false, fmt.Errorf("preemption for %s/%s on node %s: %w", pod.Namespace, pod.Name, sim.Name(), st)
		}
		remove(p)
		c.Victims = append(c.Victims, p)
		return false, nil
	}
	for _, p := range violating {
		kept, err := reprieve(p)
		if err != nil {
			return Candidate{}, nil, err
		}
		if !kept {
			c.PDBViolations++
		}
	}
	for _, p := range other {
		if _, err := reprieve(p); err != nil {
			return Candidate{}, nil, err
		}
	}
	if len(c.Victims) == 0 {
		// The pod fits with every pod back: the node was rejected on a state that has changed
		// since. kube-scheduler's dry run treats this as an error ("expected at least one
		// victim pod"), and the pod is retried.
		return Candidate{}, nil, fmt.Errorf("preemption for %s/%s: expected at least one victim pod on node %q", pod.Namespace, pod.Name, sim.Name())
	}
	sort.SliceStable(c.Victims, func(i, j int) bool { return moreImportant(c.Victims[i], c.Victims[j]) })
	return c, nil, nil
}

// splitByPDB separates the pods (in their order) whose eviction would
// exceed a matching PodDisruptionBudget's disruptionsAllowed — counting each
// pod against the budget in turn — from the others, as Kubernetes does. A
// budget with an empty selector matches nothing; a pod already listed in a
// budget's disruptedPods does not count against it.
func splitByPDB(pods []*corev1.Pod, pdbs []*policyv1.PodDisruptionBudget) (violating, other []*corev1.Pod) {
	allowed := make([]int32, len(pdbs))
	selectors := make([]labels.Selector, len(pdbs))
	for i, pdb := range pdbs {
		allowed[i] = pdb.Status.DisruptionsAllowed
		if s, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector); err == nil && !s.Empty() {
			selectors[i] = s
		}
	}
	for _, p := range pods {
		violates := false
		if len(p.Labels) > 0 {
			for i, pdb := range pdbs {
				if pdb.Namespace != p.Namespace || selectors[i] == nil || !selectors[i].Matches(labels.Set(p.Labels)) {
					continue
				}
				if _, done := pdb.Status.DisruptedPods[p.Name]; done {
					continue
				}
				allowed[i]--
				if allowed[i] < 0 {
					violates = true
					break
				}
			}
		}
		if violates {
			violating = append(violating, p)
		} else {
			other = append(other, p)
		}
	}
	return violating, other
}

// pickCandidate chooses among the candidates by kube-scheduler's order:
// fewest PodDisruptionBudget violations, then the lowest highest-victim
// priority, the smallest sum of victim priorities, the fewest victims, the
// latest start among the highest-priority victims; then the first.
func pickCandidate(cs []Candidate) Candidate {
	rules := []func(c Candidate) int64{
		func(c Candidate) int64 { return -int64(c.PDBViolations) },
		func(c Candidate) int64 { return -int64(podPriority(c.Victims[0])) },
		func(c Candidate) int64 {
			var sum int64
			for _, v := range c.Victims {
				// Offset so that every term is positive: more pods of
				// negative priority never look cheaper.
				sum += int64(podPriority(v)) + math.MaxInt32 + 1
			}
			return -sum
		},
		func(c Candidate) int64 { return -int64(len(c.Victims)) },
		func(c Candidate) int64 {
			// The earliest start among the victims of the highest priority.
			top := podPriority(c.Victims[0])
			earliest := startTime(c.Victims[0])
			for _, v := range c.Victims[1:] {
				if podPriority(v) != top {
					break
				}
				if t := startTime(v); t.Before(&earliest) {
					earliest = t
				}
			}
			return earliest.UnixNano()
		},
	}
	for _, rule := range rules {
		best := int64(math.MinInt64)
		var kept []Candidate
		for _, c := range cs {
			switch s := rule(c); {
			case s > best:
				best, kept = s, []Candidate{c}
			case s == best:
				kept = append(kept, c)
			}
		}
		if len(kept) == 1 {
			return kept[0]
		}
		cs = kept
	}
	return cs[0]
}
