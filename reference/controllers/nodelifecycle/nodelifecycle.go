package nodelifecycle

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	coordlisters "k8s.io/client-go/listers/coordination/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/controllers/podstate"
	"github.com/clusterkit/clusterkit/reference/controllers/runner"
)

// Name of the controller in a manager.
const Name = "nodelifecycle"

// Defaults, as in Kubernetes.
const (
	DefaultGracePeriod       = 50 * time.Second
	DefaultMonitorPeriod     = 5 * time.Second
	DefaultTolerationSeconds = int64(300)
	reasonUnknown            = "NodeStatusUnknown"
	reasonNeverUpdated       = "NodeStatusNeverUpdated"
	messageUnknown           = "Kubelet stopped posting node status."
	messageNeverUpdated      = "Kubelet never posted node status."
	podIndexByNode           = "clusterkit.nodelifecycle/spec.nodeName"
)

// Config configures the controller.
type Config struct {
	// GracePeriod without heartbeat after which a node is Unknown (default
	// DefaultGracePeriod, Kubernetes' --node-monitor-grace-period).
	GracePeriod time.Duration
	// MonitorPeriod is how often every node is checked (default
	// DefaultMonitorPeriod, --node-monitor-period).
	MonitorPeriod time.Duration
	// DefaultTolerationSeconds is the toleration period of pods without a
	// toleration for the unreachable/not-ready taints (default 300).
	DefaultTolerationSeconds *int64
	// DisableEviction keeps the taints but never evicts pods (Kubernetes'
	// old --enable-taint-manager=false).
	DisableEviction bool
	// DeleteAfter, when positive, deletes a node whose heartbeats stopped once its Ready
	// condition has been Unknown for this long (no heartbeat for GracePeriod + DeleteAfter);
	// its pods then go through the pod garbage collector. 0 (the default) never deletes a
	// node, as Kubernetes without a cloud provider: a clusterkit extension
	// (--node-deletion-grace-period), not a kube-controller-manager flag.
	DeleteAfter time.Duration
}

// New returns the factory of the node lifecycle controller.
func New(cfg Config) runner.Factory {
	if cfg.GracePeriod <= 0 {
		cfg.GracePeriod = DefaultGracePeriod
	}
	if cfg.MonitorPeriod <= 0 {
		cfg.MonitorPeriod = DefaultMonitorPeriod
	}
	if cfg.DefaultTolerationSeconds == nil {
		d := DefaultTolerationSeconds
		cfg.DefaultTolerationSeconds = &d
	}
	return func(c runner.Context) (interfaces.Controller, error) {
		nodeInf := c.Informers.Core().V1().Nodes()
		leaseInf := c.Informers.Coordination().V1().Leases()
		podInf := c.Informers.Core().V1().Pods()
		if err := podInf.Informer().AddIndexers(cache.Indexers{podIndexByNode: func(obj any) ([]string, error) {
			if p, ok := obj.(*corev1.Pod); ok && p.Spec.NodeName != "" {
				return []string{p.Spec.NodeName}, nil
			}
			return nil, nil
		}}); err != nil {
			return nil, err
		}
		n := &controller{
			cfg: cfg, client: c.Client, ctx: c,
			nodes: nodeInf.Lister(), leases: leaseInf.Lister(), pods: podInf.Informer().GetIndexer(),
			health: map[string]*heartbeat{},
		}
		if _, err := nodeInf.Informer().AddEventHandler(runner.EnqueueSelf(c.Queue)); err != nil {
			return nil, err
		}
		if _, err := leaseInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    n.leaseChanged,
			UpdateFunc: func(_, obj any) { n.leaseChanged(obj) },
		}); err != nil {
			return nil, err
		}
		podChanged := func(obj any) {
			if p, ok := runner.Unwrap(obj).(*corev1.Pod); ok && p.Spec.NodeName != "" && p.DeletionTimestamp == nil {
				if node, err := n.nodes.Get(p.Spec.NodeName); err == nil && hasNoExecute(node) {
					c.Queue.Add(p.Spec.NodeName)
				}
			}
		}
		if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: podChanged, UpdateFunc: func(_, obj any) { podChanged(obj) },
		}); err != nil {
			return nil, err
		}
		return n, nil
	}
}

type heartbeat struct {
	uid        types.UID // the Node's UID, for the RemovingNode Event once it is gone
	renew      time.Time // the Lease's renewTime last seen
	nodeBeat   time.Time // the Ready condition's lastHeartbeatTime last seen
	observedAt time.Time // when either last changed, on the manager's clock
}

type controller struct {
	cfg    Config
	client kubernetes.Interface
	ctx    runner.Context
	nodes  corelisters.NodeLister
	leases coordlisters.LeaseLister
	pods   cache.Indexer

	mu     sync.Mutex
	health map[string]*heartbeat
}

func (n *controller) Name() string { return Name }

func (n *controller) leaseChanged(obj any) {
	l, ok := obj.(*coordinationv1.Lease)
	if !ok || l.Namespace != corev1.NamespaceNodeLease {
		return
	}
	n.ctx.Queue.Add(l.Name)
}

// observe records the heartbeats visible now and returns when the node was
// last heard from.
func (n *controller) observe(node *corev1.Node, lease *coordinationv1.Lease) time.Time {
	now := n.ctx.Clock.Now()
	var renew, beat time.Time
	if lease != nil && lease.Spec.RenewTime != nil {
		renew = lease.Spec.RenewTime.Time
	}
	if c := nodeCondition(node, corev1.NodeReady); c != nil {
		beat = c.LastHeartbeatTime.Time
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	h := n.health[node.Name]
	if h == nil {
		h = &heartbeat{uid: node.UID, renew: renew, nodeBeat: beat, observedAt: now}
		n.health[node.Name] = h
		n.nodeEvent(node, corev1.EventTypeNormal, "RegisteredNode", fmt.Sprintf("Registered Node %v in Controller", node.Name))
	}
	if !renew.Equal(h.renew) || !beat.Equal(h.nodeBeat) {
		h.renew, h.nodeBeat, h.observedAt = renew, beat, now
	}
	return h.observedAt
}

// Reconcile checks one node's heartbeat, conditions, taints and pods.
func (n *controller) Reconcile(ctx context.Context, key string) (interfaces.ReconcileResult, error) {
	_, name := runner.SplitKey(key)
	node, err := n.nodes.Get(name)
	if apierrors.IsNotFound(err) {
		n.forget(name)
		return interfaces.ReconcileResult{}, nil
	}
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	lease, err := n.leases.Leases(corev1.NamespaceNodeLease).Get(name)
	if err != nil && !apierrors.IsNotFound(err) {
		return interfaces.ReconcileResult{}, err
	}
	if apierrors.IsNotFound(err) {
		lease = nil
	}
	now := n.ctx.Clock.Now()
	heard := n.observe(node, lease)
	next := n.cfg.MonitorPeriod
	if left := heard.Add(n.cfg.GracePeriod).Sub(now); left > 0 && left < next {
		next = left + time.Millisecond
	}
	if now.Sub(heard) > n.cfg.GracePeriod {
		if node, err = n.markUnknown(ctx, node, now); err != nil {
			return interfaces.ReconcileResult{}, err
		}
	}
	if n.cfg.DeleteAfter > 0 {
		due := heard.Add(n.cfg.GracePeriod + n.cfg.DeleteAfter)
		if c := nodeCondition(node, corev1.NodeReady); c != nil && c.Status == corev1.ConditionUnknown && !now.Before(due) {
			return interfaces.ReconcileResult{}, n.deleteDead(ctx, node, now.Sub(heard))
		}
		if left := due.Sub(now); left > 0 && left < next {
			next = left + time.Millisecond
		}
	}
	if node, err = n.syncTaints(ctx, node, now); err != nil {
		return interfaces.ReconcileResult{}, err
	}
	if !n.cfg.DisableEviction {
		wait, err := n.evict(ctx, node, now)
		if err != nil {
			return interfaces.ReconcileResult{}, err
		}
		if wait > 0 && wait < next {
			next = wait
		}
	}
	return interfaces.ReconcileResult{RequeueAfter: next}, nil
}

func nodeCondition(node *corev1.Node, t corev1.NodeConditionType) *corev1.NodeCondition {
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == t {
			return &node.Status.Conditions[i]
		}
	}
	return nil
}

// forget drops a node that is gone and records RemovingNode, as the upstream node lifecycle
// controller does when a node it knew leaves.
func (n *controller) forget(name string) {
	n.mu.Lock()
	h := n.health[name]
	delete(n.health, name)
	n.mu.Unlock()
	if h != nil {
		ref := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, UID: h.uid}}
		n.nodeEvent(ref, corev1.EventTypeNormal, "RemovingNode", fmt.Sprintf("Removing Node %v from Controller", name))
	}
}

// deleteDead deletes node, not heard from for silent, unless it changed since it was read
// (a kubelet back in the meantime).
func (n *controller) deleteDead(ctx context.Context, node *corev1.Node, silent time.Duration) error {
	n.nodeEvent(node, corev1.EventTypeNormal, "DeletingNode",
		fmt.Sprintf("Deleting node %s because its kubelet has not been heard from for %s", node.Name, silent.Round(time.Second)))
	uid, rv := node.UID, node.ResourceVersion
	err := n.client.CoreV1().Nodes().Delete(ctx, node.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("deleting dead node %s: %w", node.Name, err)
	}
	return nil
}

// markUnknown sets the node's kubelet-posted conditions to Unknown and its
// pods' Ready condition to False.
func (n *controller) markUnknown(ctx context.Context, node *corev1.Node, now time.Time) (*corev1.Node, error) {
	cp := node.DeepCopy()
	changed := false
	wasReady := false
	if c := nodeCondition(node, corev1.NodeReady); c != nil && c.Status == corev1.ConditionTrue {
		wasReady = true
	}
	ts := metav1.NewTime(now)
	for _, t := range []corev1.NodeConditionType{corev1.NodeReady, corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure} {
		c := nodeCondition(cp, t)
		if c == nil {
			if t != corev1.NodeReady {
				continue
			}
			cp.Status.Conditions = append(cp.Status.Conditions, corev1.NodeCondition{Type: t, Status: corev1.ConditionUnknown,
				Reason: reasonNeverUpdated, Message: messageNeverUpdated, LastHeartbeatTime: ts, LastTransitionTime: ts})
			changed = true
			continue
		}
		if c.Status == corev1.ConditionUnknown {
			continue
		}
		c.Status, c.Reason, c.Message, c.LastTransitionTime = corev1.ConditionUnknown, reasonUnknown, messageUnknown, ts
		changed = true
	}
	if changed {
		updated, err := n.client.CoreV1().Nodes().UpdateStatus(ctx, cp, metav1.UpdateOptions{})
		if err != nil {
			return node, fmt.Errorf("marking node %s Unknown: %w", node.Name, err)
		}
		node = updated
		n.remember(node)
		// Upstream records NodeNotReady only for a Ready → not Ready change it observes.
		if wasReady {
			n.nodeEvent(node, corev1.EventTypeNormal, "NodeNotReady", fmt.Sprintf("Node %s status is now: %s", node.Name, "NodeNotReady"))
		}
	}
	return node, n.markPodsNotReady(ctx, node.Name, now)
}

// nodeEvent records an Event about node as kube-controller-manager's node controller does
// (RecordNodeEvent: message "Node NAME event: …"; status changes "Node NAME status is now: …").
func (n *controller) nodeEvent(node *corev1.Node, eventType, reason, message string) {
	ref := &corev1.ObjectReference{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}
	if reason == "RegisteredNode" || reason == "RemovingNode" || reason == "DeletingNode" {
		message = fmt.Sprintf("Node %s event: %s", node.Name, message)
	}
	n.ctx.Eventf(ref, eventType, reason, "%s", message)
}

// remember records our own status write as seen, so it is not taken for a
// kubelet heartbeat.
func (n *controller) remember(node *corev1.Node) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if h := n.health[node.Name]; h != nil {
		if c := nodeCondition(node, corev1.NodeReady); c != nil {
			h.nodeBeat = c.LastHeartbeatTime.Time
		}
	}
}

func (n *controller) podsOn(node string) []*corev1.Pod {
	objs, err := n.pods.ByIndex(podIndexByNode, node)
	if err != nil {
		return nil
	}
	out := make([]*corev1.Pod, 0, len(objs))
	for _, o := range objs {
		if p, ok := o.(*corev1.Pod); ok {
			out = append(out, p)
		}
	}
	return out
}

func (n *controller) markPodsNotReady(ctx context.Context, node string, now time.Time) error {
	var errs []error
	for _, p := range n.podsOn(node) {
		if !podstate.Ready(p) || !podstate.Active(p) {
			continue
		}
		cp := p.DeepCopy()
		c := podstate.ReadyCondition(cp)
		c.Status, c.LastTransitionTime = corev1.ConditionFalse, metav1.NewTime(now)
		c.Reason, c.Message = "NodeNotReady", "the node's kubelet stopped posting status"
		if _, err := n.client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, cp, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("marking pod %s/%s not ready: %w", p.Namespace, p.Name, err))
		}
	}
	return errors.Join(errs...)
}

// syncTaints makes the unreachable/not-ready taints follow the Ready condition.
func (n *controller) syncTaints(ctx context.Context, node *corev1.Node, now time.Time) (*corev1.Node, error) {
	var wantKey string
	if c := nodeCondition(node, corev1.NodeReady); c != nil {
		switch c.Status {
		case corev1.ConditionUnknown:
			wantKey = corev1.TaintNodeUnreachable
		case corev1.ConditionFalse:
			wantKey = corev1.TaintNodeNotReady
		}
	}
	var kept []corev1.Taint
	have := map[corev1.TaintEffect]bool{}
	for _, t := range node.Spec.Taints {
		if t.Key == corev1.TaintNodeUnreachable || t.Key == corev1.TaintNodeNotReady {
			if t.Key != wantKey {
				continue
			}
			have[t.Effect] = true
		}
		kept = append(kept, t)
	}
	if wantKey != "" {
		for _, e := range []corev1.TaintEffect{corev1.TaintEffectNoSchedule, corev1.TaintEffectNoExecute} {
			if !have[e] {
				t := corev1.Taint{Key: wantKey, Effect: e}
				if e == corev1.TaintEffectNoExecute {
					ts := metav1.NewTime(now)
					t.TimeAdded = &ts
				}
				kept = append(kept, t)
			}
		}
	}
	if len(kept) == len(node.Spec.Taints) && (wantKey == "" || (have[corev1.TaintEffectNoSchedule] && have[corev1.TaintEffectNoExecute])) {
		return node, nil
	}
	cp := node.DeepCopy()
	cp.Spec.Taints = kept
	updated, err := n.client.CoreV1().Nodes().Update(ctx, cp, metav1.UpdateOptions{})
	if err != nil {
		return node, fmt.Errorf("updating the taints of node %s: %w", node.Name, err)
	}
	return updated, nil
}

func hasNoExecute(node *corev1.Node) bool {
	for _, t := range node.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoExecute {
			return true
		}
	}
	return false
}

// evict deletes the pods on node whose toleration of its NoExecute taints
// has run out, and returns how long until the next one does (0: none).
func (n *controller) evict(ctx context.Context, node *corev1.Node, now time.Time) (time.Duration, error) {
	if !hasNoExecute(node) {
		return 0, nil
	}
	var next time.Duration
	var errs []error
	for _, p := range n.podsOn(node.Name) {
		if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		due, forever := n.evictionTime(p, node)
		if forever {
			continue
		}
		if wait := due.Sub(now); wait > 0 {
			if next == 0 || wait < next {
				next = wait
			}
			continue
		}
		uid := p.UID
		n.ctx.Eventf(p, corev1.EventTypeNormal, "TaintManagerEviction", "Marking for deletion Pod %s", p.Namespace+"/"+p.Name)
		err := n.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			errs = append(errs, fmt.Errorf("evicting pod %s/%s: %w", p.Namespace, p.Name, err))
		}
	}
	return next, errors.Join(errs...)
}

// evictionTime is when p must leave node: the earliest, over the NoExecute
// taints, of timeAdded + the matching toleration's seconds.
func (n *controller) evictionTime(p *corev1.Pod, node *corev1.Node) (time.Time, bool) {
	var due time.Time
	forever := true
	for _, t := range node.Spec.Taints {
		if t.Effect != corev1.TaintEffectNoExecute {
			continue
		}
		added := time.Time{}
		if t.TimeAdded != nil {
			added = t.TimeAdded.Time
		}
		seconds, tolerated, limited := toleration(p.Spec.Tolerations, &t)
		if !tolerated && (t.Key == corev1.TaintNodeUnreachable || t.Key == corev1.TaintNodeNotReady) {
			seconds, tolerated, limited = *n.cfg.DefaultTolerationSeconds, true, true
		}
		var at time.Time
		switch {
		case !tolerated:
			at = added
		case limited:
			at = added.Add(time.Duration(max(seconds, 0)) * time.Second)
		default:
			continue
		}
		if forever || at.Before(due) {
			due, forever = at, false
		}
	}
	return due, forever
}

// toleration finds the tolerations of taint and returns the shortest
// period; limited is false when one tolerates it forever.
func toleration(tols []corev1.Toleration, taint *corev1.Taint) (seconds int64, tolerated, limited bool) {
	limited = true
	for i := range tols {
		if !tolerates(&tols[i], taint) {
			continue
		}
		if tols[i].TolerationSeconds == nil {
			return 0, true, false
		}
		if !tolerated || *tols[i].TolerationSeconds < seconds {
			seconds = *tols[i].TolerationSeconds
		}
		tolerated = true
	}
	return seconds, tolerated, tolerated
}

// tolerates: the effect matches (or is empty), and the key matches (an
// empty key with Exists matches every key) with Exists or an equal value.
func tolerates(t *corev1.Toleration, taint *corev1.Taint) bool {
	if t.Effect != "" && t.Effect != taint.Effect {
		return false
	}
	if t.Key == "" {
		return t.Operator == corev1.TolerationOpExists
	}
	if t.Key != taint.Key {
		return false
	}
	switch t.Operator {
	case corev1.TolerationOpExists:
		return true
	case corev1.TolerationOpEqual, "":
		return t.Value == taint.Value
	}
	return false
}
