// Package schedulercomponent is the second example of docs/scheduler.md: a
// whole scheduler of your own, as an in-process interfaces.Component. It
// keeps its own state (informers, a snapshot rebuilt on every change) and
// uses any interfaces.Placer for the decision — here the reference
// Framework, but any pure function of (pod, nodes) will do. go test runs it
// through the scheduler conformance suite.
package schedulercomponent

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/scheduler"
	"github.com/clusterkit/clusterkit/reference/scheduler/plugins"
)

// Scheduler is a small, event-driven scheduler: on every change of a node
// or pod it re-places all pending pods of its name, one by one, counting
// each placement before the next (so a burst never overcommits).
type Scheduler struct {
	cfg    *rest.Config
	name   string
	placer interfaces.Placer
}

var _ interfaces.Component = (*Scheduler)(nil)

// New builds the scheduler; it does not dial.
func New(cfg *rest.Config, schedulerName string, placer interfaces.Placer) *Scheduler {
	return &Scheduler{cfg: cfg, name: schedulerName, placer: placer}
}

// Name implements interfaces.Component.
func (s *Scheduler) Name() string { return "example-scheduler/" + s.name }

// Run implements interfaces.Component.
func (s *Scheduler) Run(ctx context.Context) error {
	client, err := kubernetes.NewForConfig(s.cfg)
	if err != nil {
		return err
	}
	factory := informers.NewSharedInformerFactory(client, 0)
	nodes := factory.Core().V1().Nodes().Informer()
	pods := factory.Core().V1().Pods().Informer()
	// A placer whose plugins read Namespaces (inter-pod affinity's
	// namespaceSelector) gets this scheduler's view of them.
	namespaces := factory.Core().V1().Namespaces()
	nsInformer := namespaces.Informer()
	if nu, ok := s.placer.(interfaces.NamespaceUser); ok {
		nu.UseNamespaces(scheduler.NamespaceListerOf(namespaces.Lister()))
	}
	changed := make(chan struct{}, 1)
	poke := func(any) {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	handler := cache.ResourceEventHandlerFuncs{AddFunc: poke, UpdateFunc: func(_, o any) { poke(o) }, DeleteFunc: poke}
	for _, inf := range []cache.SharedIndexInformer{nodes, pods} {
		if _, err := inf.AddEventHandler(handler); err != nil {
			return err
		}
	}
	// Events as kube-scheduler writes them (events.k8s.io, client-go's recorder): Scheduled
	// for each binding, FailedScheduling with the reason a pod fits no node.
	broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: client.EventsV1()})
	broadcaster.StartRecordingToSink(ctx.Done())
	defer broadcaster.Shutdown()
	rec := broadcaster.NewRecorder(scheme.Scheme, s.name)
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), nodes.HasSynced, pods.HasSynced, nsInformer.HasSynced) {
		return nil
	}
	placed := map[types.UID]*corev1.Pod{} // bound by us, not yet seen bound
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		}
		s.pass(ctx, client, rec, nodes.GetStore(), pods.GetStore(), placed, func() {
			// A refused binding is tried again a second later, change or not.
			time.AfterFunc(time.Second, func() { poke(nil) })
		})
	}
}

// pass places every pending pod of the scheduler, oldest first; it calls retry when the API
// server refused a binding.
func (s *Scheduler) pass(ctx context.Context, client kubernetes.Interface, rec events.EventRecorder, nodeStore, podStore cache.Store, placed map[types.UID]*corev1.Pod, retry func()) {
	infos := map[string]*interfaces.NodeInfo{}
	var snapshot []*interfaces.NodeInfo
	for _, o := range nodeStore.List() {
		n := o.(*corev1.Node)
		infos[n.Name] = &interfaces.NodeInfo{Node: n, Requested: corev1.ResourceList{}}
		snapshot = append(snapshot, infos[n.Name])
	}
	sort.Slice(snapshot, func(i, j int) bool { return snapshot[i].Name() < snapshot[j].Name() })
	count := func(p *corev1.Pod) {
		if info, ok := infos[p.Spec.NodeName]; ok {
			// Requests as the filters and the scores count them, and the pods that inter-pod
			// affinity and topology spread look at.
			plugins.CountPod(info, p)
		}
	}
	var pending []*corev1.Pod
	live := map[types.UID]bool{}
	for _, o := range podStore.List() {
		p := o.(*corev1.Pod)
		live[p.UID] = true
		switch {
		case p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed:
		case p.Spec.NodeName != "":
			delete(placed, p.UID)
			count(p)
		case placed[p.UID] != nil:
		case p.Spec.SchedulerName == s.name && p.DeletionTimestamp == nil:
			pending = append(pending, p)
		}
	}
	for uid, p := range placed {
		if !live[uid] {
			delete(placed, uid)
			continue
		}
		count(p)
	}
	sort.Slice(pending, func(i, j int) bool { return pending[i].CreationTimestamp.Before(&pending[j].CreationTimestamp) })
	for _, p := range pending {
		node, err := s.placer.Place(ctx, p, snapshot)
		var fit *interfaces.FitError
		switch {
		case errors.As(err, &fit):
			if s.reportNotScheduled(ctx, client, p, corev1.PodReasonUnschedulable, fit.Error()) {
				rec.Eventf(p, nil, corev1.EventTypeWarning, "FailedScheduling", "Scheduling", fit.Error())
			}
		case err == nil:
			b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, UID: p.UID}, Target: corev1.ObjectReference{Kind: "Node", Name: node}}
			if err := client.CoreV1().Pods(p.Namespace).Bind(ctx, b, metav1.CreateOptions{}); err != nil {
				if apierrors.IsConflict(err) || apierrors.IsNotFound(err) || ctx.Err() != nil {
					continue // bound by someone else, or gone: the informer tells
				}
				// Refused (admission, a policy, a webhook): say so as kube-scheduler does, leave
				// the node's room to the next pods of this pass, and try again later.
				msg := fmt.Sprintf("binding rejected: %v", err)
				if s.reportNotScheduled(ctx, client, p, corev1.PodReasonSchedulerError, msg) {
					rec.Eventf(p, nil, corev1.EventTypeWarning, "FailedScheduling", "Scheduling", msg)
				}
				retry()
				continue
			}
			rec.Eventf(p, nil, corev1.EventTypeNormal, "Scheduled", "Binding", "Successfully assigned %v/%v to %v", p.Namespace, p.Name, node)
			q := p.DeepCopy()
			q.Spec.NodeName = node
			placed[p.UID] = q
			count(q)
		}
	}
}

// reportNotScheduled sets PodScheduled=False with reason and msg, unless the pod already
// says exactly that; it reports whether the pod's status changed.
func (s *Scheduler) reportNotScheduled(ctx context.Context, client kubernetes.Interface, p *corev1.Pod, reason, msg string) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == reason && c.Message == msg {
			return false
		}
	}
	q := p.DeepCopy()
	cond := corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: reason, Message: msg, LastTransitionTime: metav1.Now()}
	replaced := false
	for i := range q.Status.Conditions {
		if q.Status.Conditions[i].Type == corev1.PodScheduled {
			q.Status.Conditions[i], replaced = cond, true
		}
	}
	if !replaced {
		q.Status.Conditions = append(q.Status.Conditions, cond)
	}
	if _, err := client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, q, metav1.UpdateOptions{}); err != nil {
		return false // the next change retries
	}
	return true
}
