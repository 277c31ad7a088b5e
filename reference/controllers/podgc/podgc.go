package podgc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/controllers/runner"
)

// Name of the controller in a manager (kube-controller-manager's alias).
const Name = "podgc"

// Defaults, as in Kubernetes.
const (
	DefaultCheckPeriod         = 20 * time.Second
	DefaultQuarantineTime      = 40 * time.Second
	DefaultTerminatedThreshold = 12500
	// ReasonDeletionByPodGC is the reason of the DisruptionTarget condition of an orphaned pod.
	ReasonDeletionByPodGC = "DeletionByPodGC"
	// key is the single key of the controller: every reconcile is one full pass.
	key = "podgc"
)

// Config configures the pod garbage collector.
type Config struct {
	// TerminatedThreshold is how many terminated pods may exist before the oldest are deleted
	// (--terminated-pod-gc-threshold). 0 means DefaultTerminatedThreshold; negative disables
	// the terminated-pod collection.
	TerminatedThreshold int
	// CheckPeriod between passes (default DefaultCheckPeriod).
	CheckPeriod time.Duration
	// QuarantineTime a missing node is waited for before its pods are deleted (default
	// DefaultQuarantineTime).
	QuarantineTime time.Duration
}

// New returns the factory of the pod garbage collector.
func New(cfg Config) runner.Factory {
	if cfg.TerminatedThreshold == 0 {
		cfg.TerminatedThreshold = DefaultTerminatedThreshold
	}
	if cfg.CheckPeriod <= 0 {
		cfg.CheckPeriod = DefaultCheckPeriod
	}
	if cfg.QuarantineTime <= 0 {
		cfg.QuarantineTime = DefaultQuarantineTime
	}
	return func(c runner.Context) (interfaces.Controller, error) {
		podInf := c.Informers.Core().V1().Pods()
		nodeInf := c.Informers.Core().V1().Nodes()
		g := &collector{cfg: cfg, ctx: c, client: c.Client, pods: podInf.Lister(), nodes: nodeInf.Lister(), missing: map[string]time.Time{}}
		// The informers' first events start the periodic pass; afterwards Reconcile requeues
		// itself every CheckPeriod, as upstream's wait.Until loop does.
		kick := func(any) { c.Queue.Add(key) }
		if _, err := nodeInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: kick, DeleteFunc: kick}); err != nil {
			return nil, err
		}
		if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: kick}); err != nil {
			return nil, err
		}
		return g, nil
	}
}

type collector struct {
	cfg    Config
	ctx    runner.Context
	client kubernetes.Interface
	pods   corelisters.PodLister
	nodes  corelisters.NodeLister

	mu sync.Mutex
	// missing maps a node that pods name but the informer lacks to when that was first seen
	// (the quarantine's start), on the manager's clock.
	missing map[string]time.Time
	// last is when the last full pass ran; passes closer together than CheckPeriod are
	// skipped (pod events only start the loop).
	last time.Time
}

func (g *collector) Name() string { return Name }

// Reconcile runs one pass of every collection and asks to run again after CheckPeriod.
func (g *collector) Reconcile(ctx context.Context, _ string) (interfaces.ReconcileResult, error) {
	now := g.ctx.Clock.Now()
	g.mu.Lock()
	if !g.last.IsZero() && now.Sub(g.last) < g.cfg.CheckPeriod {
		wait := g.cfg.CheckPeriod - now.Sub(g.last)
		g.mu.Unlock()
		return interfaces.ReconcileResult{RequeueAfter: wait}, nil
	}
	g.last = now
	g.mu.Unlock()

	pods, err := g.pods.List(labels.Everything())
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	nodes, err := g.nodes.List(labels.Everything())
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	var errs []error
	if g.cfg.TerminatedThreshold > 0 {
		errs = append(errs, g.gcTerminated(ctx, pods))
	}
	errs = append(errs, g.gcOutOfService(ctx, pods),
		g.gcOrphaned(ctx, pods, nodes, now),
		g.gcUnscheduledTerminating(ctx, pods))
	if err := errors.Join(errs...); err != nil {
		g.ctx.Log("podgc: %v", err)
	}
	// Failures are retried by the next pass, as upstream does.
	return interfaces.ReconcileResult{RequeueAfter: g.cfg.CheckPeriod}, nil
}

func terminated(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// evicted reports whether the kubelet evicted p (phase Failed, reason Evicted).
func evicted(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodFailed && p.Status.Reason == "Evicted"
}

// byEvictionAndAge orders evicted pods first, then oldest first, then by name.
func byEvictionAndAge(a, b *corev1.Pod) int {
	if ea, eb := evicted(a), evicted(b); ea != eb {
		if ea {
			return -1
		}
		return 1
	}
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		if a.CreationTimestamp.Before(&b.CreationTimestamp) {
			return -1
		}
		return 1
	}
	return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
}

func (g *collector) gcTerminated(ctx context.Context, pods []*corev1.Pod) error {
	var done []*corev1.Pod
	for _, p := range pods {
		if terminated(p) {
			done = append(done, p)
		}
	}
	excess := len(done) - g.cfg.TerminatedThreshold
	if excess <= 0 {
		return nil
	}
	slices.SortFunc(done, byEvictionAndAge)
	var errs []error
	for _, p := range done[:excess] {
		errs = append(errs, g.failAndDelete(ctx, p, nil))
	}
	return errors.Join(errs...)
}

func (g *collector) gcOutOfService(ctx context.Context, pods []*corev1.Pod) error {
	var errs []error
	for _, p := range pods {
		if p.DeletionTimestamp == nil || p.Spec.NodeName == "" {
			continue
		}
		node, err := g.nodes.Get(p.Spec.NodeName)
		if err != nil || nodeReady(node) || !outOfService(node) {
			continue
		}
		errs = append(errs, g.failAndDelete(ctx, p, nil))
	}
	return errors.Join(errs...)
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func outOfService(n *corev1.Node) bool {
	return slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool { return t.Key == corev1.TaintNodeOutOfService })
}

// gcOrphaned deletes the pods of nodes that have been missing for the quarantine and that a
// GET confirms are gone.
func (g *collector) gcOrphaned(ctx context.Context, pods []*corev1.Pod, nodes []*corev1.Node, now time.Time) error {
	exists := map[string]bool{}
	for _, n := range nodes {
		exists[n.Name] = true
	}
	named := map[string]bool{}
	for _, p := range pods {
		if p.Spec.NodeName != "" && !exists[p.Spec.NodeName] {
			named[p.Spec.NodeName] = true
		}
	}
	gone := map[string]bool{}
	var errs []error
	g.mu.Lock()
	for n := range g.missing {
		if !named[n] {
			delete(g.missing, n)
		}
	}
	var due []string
	for n := range named {
		since, ok := g.missing[n]
		if !ok {
			g.missing[n] = now
			continue
		}
		if now.Sub(since) >= g.cfg.QuarantineTime {
			due = append(due, n)
		}
	}
	g.mu.Unlock()
	for _, n := range due {
		_, err := g.client.CoreV1().Nodes().Get(ctx, n, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			gone[n] = true
		case err != nil:
			errs = append(errs, fmt.Errorf("checking node %s: %w", n, err))
		default:
			// It exists after all: the informer is behind. Start over.
			g.mu.Lock()
			delete(g.missing, n)
			g.mu.Unlock()
		}
	}
	cond := &corev1.PodCondition{
		Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
		Reason: ReasonDeletionByPodGC, Message: "PodGC: node no longer exists",
	}
	for _, p := range pods {
		if gone[p.Spec.NodeName] {
			errs = append(errs, g.failAndDelete(ctx, p, cond))
		}
	}
	return errors.Join(errs...)
}

func (g *collector) gcUnscheduledTerminating(ctx context.Context, pods []*corev1.Pod) error {
	var errs []error
	for _, p := range pods {
		if p.DeletionTimestamp != nil && p.Spec.NodeName == "" {
			errs = append(errs, g.failAndDelete(ctx, p, nil))
		}
	}
	return errors.Join(errs...)
}

// failAndDelete patches a pod that is not terminal to phase Failed (with cond, when given)
// and force-deletes it (grace period 0, UID precondition).
func (g *collector) failAndDelete(ctx context.Context, p *corev1.Pod, cond *corev1.PodCondition) error {
	pods := g.client.CoreV1().Pods(p.Namespace)
	if !terminated(p) {
		status := map[string]any{"phase": corev1.PodFailed}
		if cond != nil {
			c := *cond
			c.LastTransitionTime = metav1.NewTime(g.ctx.Clock.Now())
			status["conditions"] = []corev1.PodCondition{c}
		}
		// A strategic merge patch merges conditions by type; the UID precondition keeps it
		// off a namesake.
		patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"uid": p.UID}, "status": status})
		if err != nil {
			return err
		}
		if _, err := pods.Patch(ctx, p.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
			if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
				return nil
			}
			return fmt.Errorf("marking pod %s/%s Failed: %w", p.Namespace, p.Name, err)
		}
	}
	err := pods.Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0)), Preconditions: &metav1.Preconditions{UID: &p.UID}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("deleting pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	return nil
}
