package plugins

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/clusterkit/clusterkit/interfaces"
)

// Names of the plugins.
const (
	NodeResourcesFitName                = "NodeResourcesFit"
	NodeResourcesBalancedAllocationName = "NodeResourcesBalancedAllocation"
	NodeUnschedulableName               = "NodeUnschedulable"
	NodeAffinityName                    = "NodeAffinity"
	TaintTolerationName                 = "TaintToleration"
	NodeNameName                        = "NodeName"
)

// FitArgs configures NodeResourcesFit.
type FitArgs struct {
	// Scoring is LeastAllocated (default) or MostAllocated.
	Scoring interfaces.SchedulerScoring
}

// Fit is the NodeResourcesFit plugin: a Filter on requests versus
// allocatable minus already-requested, and a Score on how allocated the node
// would be.
type Fit struct {
	scoring interfaces.SchedulerScoring
	memo    demandMemo
}

var (
	_ interfaces.FilterPlugin = (*Fit)(nil)
	_ interfaces.ScorePlugin  = (*Fit)(nil)
)

// NewFit builds NodeResourcesFit; h.Args may be nil, FitArgs or *FitArgs.
func NewFit(h interfaces.Handle) (interfaces.Plugin, error) {
	args := FitArgs{Scoring: interfaces.LeastAllocated}
	if h != nil {
		switch a := h.Args().(type) {
		case nil:
		case FitArgs:
			args = a
		case *FitArgs:
			args = *a
		default:
			return nil, fmt.Errorf("%s: unexpected args of type %T", NodeResourcesFitName, a)
		}
	}
	switch args.Scoring {
	case "":
		args.Scoring = interfaces.LeastAllocated
	case interfaces.LeastAllocated, interfaces.MostAllocated:
	default:
		return nil, fmt.Errorf("%s: unknown scoring strategy %q", NodeResourcesFitName, args.Scoring)
	}
	return &Fit{scoring: args.Scoring}, nil
}

// Name implements interfaces.Plugin.
func (*Fit) Name() string { return NodeResourcesFitName }

// Filter rejects the node when any requested resource, or one more pod,
// exceeds what is left of its allocatable.
func (f *Fit) Filter(_ context.Context, pod *corev1.Pod, node *interfaces.NodeInfo) *interfaces.Status {
	var reasons []string
	allocPods := node.Allocatable(corev1.ResourcePods)
	if int64(node.Pods)+1 > allocPods.Value() {
		reasons = append(reasons, "Too many pods")
	}
	d := f.memo.of(pod)
	for _, name := range d.names {
		want := amount(name, d.req[name])
		if want == 0 {
			continue
		}
		if want > amount(name, node.Free(name)) {
			reasons = append(reasons, insufficient(name))
		}
	}
	if len(reasons) > 0 {
		return interfaces.NewStatus(interfaces.Unschedulable, reasons...)
	}
	return nil
}

// insufficient is the reason a node lacks a resource, "Insufficient <name>";
// the common resources' reasons are constants, so a filter pass over many
// nodes does not build the same string on each.
func insufficient(name corev1.ResourceName) string {
	switch name {
	case corev1.ResourceCPU:
		return "Insufficient cpu"
	case corev1.ResourceMemory:
		return "Insufficient memory"
	case corev1.ResourceEphemeralStorage:
		return "Insufficient ephemeral-storage"
	}
	return "Insufficient " + string(name)
}

// Score rates cpu and memory equally, as kube-scheduler's NodeResourcesFit
// score: each resource scores (capacity - requested) * MaxNodeScore /
// capacity with LeastAllocated (0 when overcommitted), requested *
// MaxNodeScore / capacity with MostAllocated (requested capped at capacity),
// in integers, with requested counted as NonZeroRequests (the node's pods
// and this one); the node scores the mean of the resources it has.
func (f *Fit) Score(_ context.Context, pod *corev1.Pod, node *interfaces.NodeInfo) (int64, *interfaces.Status) {
	d := f.memo.of(pod)
	cpu, mem := node.Allocatable(corev1.ResourceCPU), node.Allocatable(corev1.ResourceMemory)
	var sum, n int64
	for _, r := range [2][2]int64{
		{node.NonZeroMilliCPU + d.cpu, cpu.MilliValue()},
		{node.NonZeroMemory + d.mem, mem.Value()},
	} {
		requested, capacity := r[0], r[1]
		if capacity <= 0 {
			continue
		}
		n++
		if f.scoring == interfaces.MostAllocated {
			sum += min(requested, capacity) * interfaces.MaxNodeScore / capacity
		} else if requested <= capacity {
			sum += (capacity - requested) * interfaces.MaxNodeScore / capacity
		}
	}
	if n == 0 {
		return 0, nil
	}
	return sum / n, nil
}

// usedFractions is the share of cpu and memory that the node's pods would
// request with podCPU millicores and podMem bytes more.
func usedFractions(node *interfaces.NodeInfo, podCPU, podMem int64) (cpu, mem float64, ok bool) {
	allocCPU := node.Allocatable(corev1.ResourceCPU)
	allocMem := node.Allocatable(corev1.ResourceMemory)
	if allocCPU.IsZero() || allocMem.IsZero() {
		return 0, 0, false
	}
	usedCPU, usedMem := podCPU, podMem
	if q, ok := node.Requested[corev1.ResourceCPU]; ok {
		usedCPU += q.MilliValue()
	}
	if q, ok := node.Requested[corev1.ResourceMemory]; ok {
		usedMem += q.Value()
	}
	return float64(usedCPU) / float64(allocCPU.MilliValue()), float64(usedMem) / float64(allocMem.Value()), true
}

// BalancedAllocation is the NodeResourcesBalancedAllocation score: nodes
// whose cpu and memory would be used in similar fractions score higher.
type BalancedAllocation struct {
	memo demandMemo
}

var _ interfaces.ScorePlugin = (*BalancedAllocation)(nil)

// NewBalancedAllocation builds NodeResourcesBalancedAllocation.
func NewBalancedAllocation(interfaces.Handle) (interfaces.Plugin, error) {
	return &BalancedAllocation{}, nil
}

// Name implements interfaces.Plugin.
func (*BalancedAllocation) Name() string { return NodeResourcesBalancedAllocationName }

// Score rates how much placing the pod improves the node's balance, as
// kube-scheduler 1.37 does: with b the balance (1 - the standard deviation of
// the cpu and memory fractions, each capped at 1) * MaxNodeScore, the score
// is MaxNodeScore/2 + (MaxNodeScore/2 + b(with the pod) - b(without))/2, so
// a pod that evens out the node's usage scores above one that skews it. A
// pod requesting neither cpu nor memory is not scored (0 on every node).
func (b *BalancedAllocation) Score(_ context.Context, pod *corev1.Pod, node *interfaces.NodeInfo) (int64, *interfaces.Status) {
	d := b.memo.of(pod)
	if d.req.Cpu().IsZero() && d.req.Memory().IsZero() {
		return 0, nil
	}
	balance := func(cpu, mem float64) int64 {
		cpu, mem = min(cpu, 1), min(mem, 1)
		d := (cpu - mem) / 2
		if d < 0 {
			d = -d
		}
		return int64((1 - d) * float64(interfaces.MaxNodeScore))
	}
	cpu, mem, ok := usedFractions(node, d.req.Cpu().MilliValue(), d.req.Memory().Value())
	if !ok {
		return 0, nil
	}
	cpu0, mem0, _ := usedFractions(node, 0, 0)
	half := interfaces.MaxNodeScore / 2
	return half + (half+balance(cpu, mem)-balance(cpu0, mem0))/2, nil
}
