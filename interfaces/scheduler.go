package interfaces

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Scheduling contracts.
//
// Scheduling happens at two levels. A scheduler is a running Component: it is
// built from a *rest.Config and a scheduler name, watches Pods whose
// spec.schedulerName is its name and whose spec.nodeName is empty, and records
// each decision through the pods/binding subresource. Inside it, the placement
// decision is a pure function of (pod, node snapshot): FilterPlugins remove the
// nodes the pod cannot run on, ScorePlugins rank the rest, and the best node
// wins. Plugins see only what they are handed (the pod, one NodeInfo, and the
// Handle given to their factory); they never read the API themselves.

// NodeInfo is one node as a scheduler sees it: the Node object and what the
// pods already bound (or assumed) to it request. Plugins must treat it as
// read-only.
type NodeInfo struct {
	// Node is the Node object (labels, taints, spec.unschedulable,
	// status.allocatable).
	Node *corev1.Node
	// Requested is the sum of the effective requests (cpu, memory and any
	// other resource) of the pods on the node, including pods the scheduler
	// has assumed but whose binding has not been observed yet.
	Requested corev1.ResourceList
	// NonZeroMilliCPU and NonZeroMemory are the cpu (millicores) and memory
	// (bytes) the node's pods request as the resource scoring counts them,
	// as kube-scheduler's NodeInfo.NonZeroRequested: a container that states
	// no cpu or no memory request counts 100m cpu or 200 MiB memory of it (an
	// explicit 0 stays 0). Bound and assumed pods, not nominated ones.
	NonZeroMilliCPU, NonZeroMemory int64
	// Pods is the number of pods on the node, counted like Requested.
	Pods int
	// PodList holds the pods counted in Pods (bound or assumed), for plugins
	// that look at the other pods of a node: host ports, inter-pod affinity,
	// topology spread. Plugins must not change it or the pods.
	PodList []*corev1.Pod
	// PodsWithAffinity holds the pods of PodList that have an inter-pod
	// affinity or anti-affinity term (required or preferred), so that
	// inter-pod affinity looks at the few pods whose terms may reject or
	// favour a new pod without scanning every pod of the cluster, as
	// kube-scheduler's NodeInfo.PodsWithAffinity. A snapshot that fills
	// PodList must fill it too (every pod p with p.Spec.Affinity having a
	// non-nil PodAffinity or PodAntiAffinity with a term); plugins must not
	// change it.
	PodsWithAffinity []*corev1.Pod
}

// Name is the node's name.
func (n *NodeInfo) Name() string { return n.Node.Name }

// Allocatable returns the node's allocatable amount of a resource (zero when
// the node does not report it).
func (n *NodeInfo) Allocatable(name corev1.ResourceName) resource.Quantity {
	if q, ok := n.Node.Status.Allocatable[name]; ok {
		return q
	}
	return resource.Quantity{}
}

// Free returns allocatable minus requested for a resource; negative when the
// node is overcommitted.
func (n *NodeInfo) Free(name corev1.ResourceName) resource.Quantity {
	q := n.Allocatable(name)
	if r, ok := n.Requested[name]; ok {
		q.Sub(r)
	}
	return q
}

// StatusCode classifies a plugin's answer.
type StatusCode int

// The status codes. A nil *Status means Success.
const (
	// Success: the node passes the filter (or the score is valid).
	Success StatusCode = iota
	// Unschedulable: the pod does not fit the node now, but may after the
	// cluster changes (resources freed, a node uncordoned). The scheduler
	// retries the pod when the cluster changes.
	Unschedulable
	// UnschedulableAndUnresolvable: the pod can never fit this node as it is
	// (its labels do not match the pod's nodeSelector, the pod names another
	// node). Only a change of the node itself can help.
	UnschedulableAndUnresolvable
	// Error: the plugin failed; the scheduler reports it and retries later.
	Error
)

// String is the code's name.
func (c StatusCode) String() string {
	switch c {
	case Success:
		return "Success"
	case Unschedulable:
		return "Unschedulable"
	case UnschedulableAndUnresolvable:
		return "UnschedulableAndUnresolvable"
	case Error:
		return "Error"
	}
	return fmt.Sprintf("StatusCode(%d)", int(c))
}

// Status is a plugin's answer. Reasons are short phrases shown to users in
// the PodScheduled condition, counted across nodes, in Kubernetes' wording:
// "Insufficient cpu", "node(s) had untolerated taint {key: value}",
// "node(s) didn't match Pod's node affinity/selector",
// "node(s) were unschedulable".
type Status struct {
	Code    StatusCode
	Reasons []string
	// Plugin is the name of the plugin that answered; the framework fills it.
	Plugin string
}

// NewStatus returns a Status with a code and reasons.
func NewStatus(code StatusCode, reasons ...string) *Status {
	return &Status{Code: code, Reasons: reasons}
}

// IsSuccess reports whether s is nil or has code Success.
func (s *Status) IsSuccess() bool { return s == nil || s.Code == Success }

// CodeOf returns the status code, Success for nil.
func (s *Status) CodeOf() StatusCode {
	if s == nil {
		return Success
	}
	return s.Code
}

// Error describes the status.
func (s *Status) Error() string {
	if s == nil {
		return "Success"
	}
	return fmt.Sprintf("%s: %s (%s)", s.Plugin, strings.Join(s.Reasons, ", "), s.Code)
}

// MaxNodeScore is the highest score a ScorePlugin returns; scores range over
// [0, MaxNodeScore].
const MaxNodeScore int64 = 100

// Plugin is a named scheduling plugin.
type Plugin interface {
	// Name is unique within a scheduler's registry.
	Name() string
}

// FilterPlugin is the Filter extension point: it decides whether pod can
// run on node. It must be a pure function of its arguments (and of what its
// factory was handed), safe to call concurrently for different nodes.
type FilterPlugin interface {
	Plugin
	// Filter returns nil (or a Success status) when the pod fits, and an
	// Unschedulable or UnschedulableAndUnresolvable status with reasons
	// otherwise.
	Filter(ctx context.Context, pod *corev1.Pod, node *NodeInfo) *Status
}

// ScorePlugin is the Score extension point: it ranks a node that passed
// every filter. Higher is better; the scheduler sums the scores of its plugins
// multiplied by their weights and binds to the highest total.
type ScorePlugin interface {
	Plugin
	// Score returns a value in [0, MaxNodeScore].
	Score(ctx context.Context, pod *corev1.Pod, node *NodeInfo) (int64, *Status)
}

// PreFilterPlugin is the PreFilter extension point, for filters whose verdict
// on one node depends on the whole cluster (inter-pod affinity counts
// matching pods in a node's topology domain, topology spread compares
// domains). Once per scheduling attempt the scheduler hands it every node
// of the snapshot; the PodFilter it returns then filters each node for this
// pod. A nil PodFilter with a successful status means the plugin has
// nothing to check for this pod (every node passes); a failed status
// rejects every node with its reasons.
type PreFilterPlugin interface {
	Plugin
	PreFilter(ctx context.Context, pod *corev1.Pod, nodes []*NodeInfo) (PodFilter, *Status)
}

// PodFilter is what a PreFilterPlugin computed for one pod. Filter must be
// safe for concurrent calls on different nodes. Preemption asks what the
// filter would answer if pods were removed from (or put back on) a node:
// it Clones the filter and calls RemovePod and AddPod on the copy, never
// concurrently with other calls on that copy, and never on the original.
type PodFilter interface {
	Filter(ctx context.Context, node *NodeInfo) *Status
	Clone() PodFilter
	// RemovePod and AddPod update the state as if pod (not the pod being
	// scheduled) left or joined node.
	RemovePod(ctx context.Context, pod *corev1.Pod, node *NodeInfo)
	AddPod(ctx context.Context, pod *corev1.Pod, node *NodeInfo)
}

// PreScorePlugin is the PreScore extension point, for scores that depend on
// the whole cluster (affinity to other pods, spreading, how many nodes hold
// an image). Once per scheduling attempt it sees the feasible nodes and all
// nodes; the PodScorer it returns scores each feasible node. A nil
// PodScorer means the plugin scores every node 0 for this pod.
type PreScorePlugin interface {
	Plugin
	PreScore(ctx context.Context, pod *corev1.Pod, feasible, all []*NodeInfo) (PodScorer, *Status)
}

// PodScorer is what a PreScorePlugin computed for one pod; Score must be
// safe for concurrent calls on different nodes.
type PodScorer interface {
	Score(ctx context.Context, node *NodeInfo) (int64, *Status)
}

// ScoreNormalizer is optional on a ScorePlugin or a PodScorer whose raw
// scores are not already in [0, MaxNodeScore] (sums of term weights, counts
// of matching pods): once every feasible node is scored, NormalizeScore
// rescales the raw scores, given in the feasible nodes' order, in place.
type ScoreNormalizer interface {
	NormalizeScore(ctx context.Context, pod *corev1.Pod, scores []int64) *Status
}

// PodEventsPlugin is optional on a filter whose verdict depends on the
// pods of the cluster, not only on nodes and resources (inter-pod affinity,
// topology spread): a pod it rejected is retried when another pod is bound
// or a bound pod's labels change, besides the node changes and pod
// deletions that retry every rejected pod.
type PodEventsPlugin interface {
	Plugin
	RetryOnPodChange() bool
}

// Handle is what a scheduler hands to a plugin factory: the plugin's own
// configuration. Plugins get every dependency through it, never from globals.
type Handle interface {
	// Args is the plugin's configuration from the scheduler's profile, or
	// nil when it has none. Each plugin documents the type it accepts.
	Args() any
}

// NamespaceLister reads the cluster's Namespaces, for plugins that match
// a podAffinityTerm's namespaceSelector against Namespace labels. It
// answers from the scheduler's own view (an informer), so a Namespace
// created a moment ago may not be known yet. Safe for concurrent use.
type NamespaceLister interface {
	// NamespaceLabels returns the labels of the named Namespace; ok is
	// false when the Namespace is not known.
	NamespaceLabels(name string) (nsLabels map[string]string, ok bool)
	// NamespacesMatching returns the names of the known Namespaces whose
	// labels match sel (none for labels.Nothing()).
	NamespacesMatching(sel labels.Selector) []string
}

// NamespaceHandle is optional on a Handle: a scheduler that watches
// Namespaces offers them to its plugins. A plugin given a Handle without
// it (or a nil lister) must treat every Namespace as unknown: a
// namespaceSelector then matches no Namespace. Plugin factories must not
// read from it (the scheduler starts watching when it runs, after the
// plugins are built); plugins read it while scheduling.
type NamespaceHandle interface {
	Handle
	Namespaces() NamespaceLister
}

// NamespaceUser is optional on a Placer whose plugins read Namespaces: a
// scheduler component that watches Namespaces hands it its view (through
// UseNamespaces) before it places pods; until then the plugins know no
// Namespace.
type NamespaceUser interface {
	UseNamespaces(NamespaceLister)
}

// PluginFactory builds a plugin from its dependencies.
type PluginFactory func(h Handle) (Plugin, error)

// Registry maps plugin names to their factories.
type Registry map[string]PluginFactory

// Register adds a factory. Registering a name twice fails with an
// AlreadyExists error and leaves the first factory in place.
func (r Registry) Register(name string, f PluginFactory) error {
	if name == "" || f == nil {
		return apierrors.NewBadRequest("a scheduler plugin needs a name and a factory")
	}
	if _, ok := r[name]; ok {
		return apierrors.NewAlreadyExists(schema.GroupResource{Resource: "schedulerplugins"}, name)
	}
	r[name] = f
	return nil
}

// Merge registers every factory of other; it fails on the first name that
// is already registered.
func (r Registry) Merge(other Registry) error {
	names := make([]string, 0, len(other))
	for n := range other {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := r.Register(n, other[n]); err != nil {
			return err
		}
	}
	return nil
}

// FitError is why a pod fits no node, worded like Kubernetes'
// PodScheduled condition: "0/3 nodes are available: 1 Insufficient cpu, 2
// node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }."
// followed by what preemption found, when it ran: " preemption: 0/3 nodes
// are available: 3 No preemption victims found for incoming pod."
type FitError struct {
	// NumAllNodes is the number of nodes considered.
	NumAllNodes int
	// Reasons counts the nodes that gave each reason.
	Reasons map[string]int
	// Plugins holds the names of the plugins that rejected a node (nil
	// when the placer does not say).
	Plugins map[string]bool
	// PreFilterMsg is the reason of a PreFilter plugin that rejected every
	// node at once; it replaces the per-node reasons in the message.
	PreFilterMsg string
	// PostFilterMsg is what preemption found ("preemption: …"), appended.
	PostFilterMsg string
}

// NoNodesMessage is the message when the cluster has no node at all.
const NoNodesMessage = "no nodes available to schedule pods"

// Error renders the message, as kube-scheduler's FitError: the reasons
// counted over nodes, sorted as strings, then preemption's message.
func (e *FitError) Error() string {
	if e.NumAllNodes == 0 && e.PreFilterMsg == "" && len(e.Reasons) == 0 {
		return NoNodesMessage
	}
	msg := fmt.Sprintf("0/%d nodes are available:", e.NumAllNodes)
	if e.PreFilterMsg != "" {
		msg += " " + e.PreFilterMsg + "."
	} else if len(e.Reasons) > 0 {
		parts := make([]string, 0, len(e.Reasons))
		for reason, n := range e.Reasons {
			parts = append(parts, fmt.Sprintf("%d %s", n, reason))
		}
		sort.Strings(parts)
		msg += " " + strings.Join(parts, ", ") + "."
	}
	if e.PostFilterMsg != "" {
		msg += " " + e.PostFilterMsg
	}
	return msg
}

// Placer is the placement decision as a pure function: given a pod and the
// nodes (with what is already on them) it returns the chosen node's name, or
// a *FitError when no node fits. It does not talk to the API and does not
// change the NodeInfos.
type Placer interface {
	Place(ctx context.Context, pod *corev1.Pod, nodes []*NodeInfo) (string, error)
}

// SchedulerScoring names the scoring strategy a scheduler declares for the
// resources of feasible nodes.
type SchedulerScoring string

// The scoring strategies.
const (
	// LeastAllocated prefers the node with the most free capacity left
	// (spreads pods; Kubernetes' default).
	LeastAllocated SchedulerScoring = "LeastAllocated"
	// MostAllocated prefers the fullest node that still fits (best fit,
	// bin packing).
	MostAllocated SchedulerScoring = "MostAllocated"
)
