package knownbad

import (
	"context"
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/controllers/deployment"
	"github.com/clusterkit/clusterkit/reference/controllers/nodelifecycle"
	"github.com/clusterkit/clusterkit/reference/controllers/replicaset"
	"github.com/clusterkit/clusterkit/reference/controllers/runner"
)

// Known-bad controllers: each replaces one reference controller in the
// manager and has one bug the controller specs must catch.

// OvershootingReplicaSet is a ReplicaSet controller that counts only
// Running pods as existing, so it keeps creating pods while earlier ones are
// still pending: it overshoots spec.replicas.
func OvershootingReplicaSet() runner.Factory {
	return simpleReplicaSetFactory(true)
}

// NonAdoptingReplicaSet is a ReplicaSet controller that only counts pods it
// created and never adopts matching orphans: it creates a full set beside
// them.
func NonAdoptingReplicaSet() runner.Factory {
	return simpleReplicaSetFactory(false)
}

func simpleReplicaSetFactory(countRunningOnly bool) runner.Factory {
	return func(c runner.Context) (interfaces.Controller, error) {
		rsInf := c.Informers.Apps().V1().ReplicaSets()
		r := &simpleReplicaSet{client: c.Client, rss: rsInf.Lister(), runningOnly: countRunningOnly}
		if _, err := rsInf.Informer().AddEventHandler(runner.EnqueueSelf(c.Queue)); err != nil {
			return nil, err
		}
		owner := func(obj any) {
			if ref := runner.ControllerOf(obj); ref != nil && ref.Kind == "ReplicaSet" {
				if p, ok := runner.Unwrap(obj).(*corev1.Pod); ok {
					c.Queue.Add(p.Namespace + "/" + ref.Name)
				}
			}
		}
		if _, err := c.Informers.Core().V1().Pods().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: owner, UpdateFunc: func(_, n any) { owner(n) }, DeleteFunc: owner,
		}); err != nil {
			return nil, err
		}
		return r, nil
	}
}

type simpleReplicaSet struct {
	client      kubernetes.Interface
	rss         appslisters.ReplicaSetLister
	runningOnly bool
}

func (r *simpleReplicaSet) Name() string { return "replicaset" }

func (r *simpleReplicaSet) Reconcile(ctx context.Context, key string) (interfaces.ReconcileResult, error) {
	ns, name := runner.SplitKey(key)
	rs, err := r.rss.ReplicaSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return interfaces.ReconcileResult{}, nil
	}
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil {
		return interfaces.ReconcileResult{}, nil
	}
	list, err := r.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	var mine []corev1.Pod
	counted := 0
	var ready int32
	for _, p := range list.Items {
		ref := metav1.GetControllerOfNoCopy(&p)
		if ref == nil || ref.UID != rs.UID || p.DeletionTimestamp != nil {
			continue
		}
		mine = append(mine, p)
		if !r.runningOnly || p.Status.Phase == corev1.PodRunning {
			counted++
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				ready++
			}
		}
	}
	want := int(ptr.Deref(rs.Spec.Replicas, 1))
	var errs []error
	for i := counted; i < want; i++ {
		t := rs.Spec.Template.DeepCopy()
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: rs.Name + "-", Labels: t.Labels,
			OwnerReferences: []metav1.OwnerReference{runner.ControllerRef(rs, appsv1.SchemeGroupVersion.WithKind("ReplicaSet"))}}, Spec: t.Spec}
		if _, err := r.client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			errs = append(errs, err)
		}
	}
	for i := want; i < len(mine); i++ {
		if err := r.client.CoreV1().Pods(ns).Delete(ctx, mine[i].Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	cp := rs.DeepCopy()
	cp.Status = appsv1.ReplicaSetStatus{Replicas: int32(len(mine)), FullyLabeledReplicas: int32(len(mine)), ReadyReplicas: ready,
		AvailableReplicas: ready, ObservedGeneration: rs.Generation}
	if _, err := r.client.AppsV1().ReplicaSets(ns).UpdateStatus(ctx, cp, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, err)
	}
	return interfaces.ReconcileResult{}, errors.Join(errs...)
}

// AllAtOnceDeployment is a Deployment controller that, under RollingUpdate,
// scales the new ReplicaSet to the full count and every old one to zero at
// once, ignoring maxSurge and maxUnavailable.
func AllAtOnceDeployment() runner.Factory {
	return func(c runner.Context) (interfaces.Controller, error) {
		dInf := c.Informers.Apps().V1().Deployments()
		d := &allAtOnce{client: c.Client, ds: dInf.Lister()}
		if _, err := dInf.Informer().AddEventHandler(runner.EnqueueSelf(c.Queue)); err != nil {
			return nil, err
		}
		owner := func(obj any) {
			if ref := runner.ControllerOf(obj); ref != nil && ref.Kind == "Deployment" {
				if rs, ok := runner.Unwrap(obj).(*appsv1.ReplicaSet); ok {
					c.Queue.Add(rs.Namespace + "/" + ref.Name)
				}
			}
		}
		if _, err := c.Informers.Apps().V1().ReplicaSets().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: owner, UpdateFunc: func(_, n any) { owner(n) }, DeleteFunc: owner,
		}); err != nil {
			return nil, err
		}
		return d, nil
	}
}

type allAtOnce struct {
	client kubernetes.Interface
	ds     appslisters.DeploymentLister
}

func (a *allAtOnce) Name() string { return "deployment" }

func (a *allAtOnce) Reconcile(ctx context.Context, key string) (interfaces.ReconcileResult, error) {
	ns, name := runner.SplitKey(key)
	d, err := a.ds.Deployments(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return interfaces.ReconcileResult{}, nil
	}
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	hash := deployment.PodTemplateHash(&d.Spec.Template, d.Status.CollisionCount)
	rsName := deployment.ReplicaSetName(d.Name, hash)
	want := ptr.Deref(d.Spec.Replicas, 1)
	list, err := a.client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	var st appsv1.DeploymentStatus
	found := false
	for _, rs := range list.Items {
		if ref := metav1.GetControllerOfNoCopy(&rs); ref == nil || ref.UID != d.UID {
			continue
		}
		target := int32(0)
		if rs.Name == rsName {
			found, target = true, want
			st.UpdatedReplicas = rs.Status.Replicas
		}
		if ptr.Deref(rs.Spec.Replicas, 1) != target {
			rs.Spec.Replicas = ptr.To(target)
			if _, err := a.client.AppsV1().ReplicaSets(ns).Update(ctx, &rs, metav1.UpdateOptions{}); err != nil {
				return interfaces.ReconcileResult{}, err
			}
		}
		st.Replicas += rs.Status.Replicas
		st.ReadyReplicas += rs.Status.ReadyReplicas
		st.AvailableReplicas += rs.Status.AvailableReplicas
	}
	if !found {
		t := d.Spec.Template.DeepCopy()
		t.Labels = labels.Merge(t.Labels, labels.Set{appsv1.DefaultDeploymentUniqueLabelKey: hash})
		sel := d.Spec.Selector.DeepCopy()
		sel.MatchLabels = labels.Merge(sel.MatchLabels, labels.Set{appsv1.DefaultDeploymentUniqueLabelKey: hash})
		rs := &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: rsName, Labels: t.Labels,
				OwnerReferences: []metav1.OwnerReference{runner.ControllerRef(d, appsv1.SchemeGroupVersion.WithKind("Deployment"))}},
			Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To(want), Selector: sel, Template: *t},
		}
		if _, err := a.client.AppsV1().ReplicaSets(ns).Create(ctx, rs, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return interfaces.ReconcileResult{}, err
		}
	}
	st.ObservedGeneration = d.Generation
	st.UnavailableReplicas = max(0, want-st.AvailableReplicas)
	cp := d.DeepCopy()
	cp.Status = st
	if _, err := a.client.AppsV1().Deployments(ns).UpdateStatus(ctx, cp, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return interfaces.ReconcileResult{}, err
	}
	return interfaces.ReconcileResult{}, nil
}

// NonEvictingNodeLifecycle marks unreachable nodes and taints them but
// never evicts their pods.
func NonEvictingNodeLifecycle() runner.Factory {
	return nodelifecycle.New(nodelifecycle.Config{DisableEviction: true})
}

// OrphaningGarbageCollector, when a pod's or ReplicaSet's owner is gone,
// removes the owner reference instead of deleting the dependent: it orphans
// by default.
func OrphaningGarbageCollector() runner.Factory {
	return func(c runner.Context) (interfaces.Controller, error) {
		g := &orphaningGC{client: c.Client}
		for kind, inf := range map[string]cache.SharedIndexInformer{
			"pods": c.Informers.Core().V1().Pods().Informer(), "replicasets": c.Informers.Apps().V1().ReplicaSets().Informer(),
		} {
			add := func(obj any) {
				if k, ok := runner.Key(obj); ok {
					c.Queue.Add(kind + "|" + k)
				}
			}
			if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: add, UpdateFunc: func(_, n any) { add(n) }}); err != nil {
				return nil, err
			}
			// Wake the dependents of deleted owners.
			owners := inf
			if _, err := owners.AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: func(any) {
				for _, k := range c.Informers.Core().V1().Pods().Informer().GetStore().ListKeys() {
					c.Queue.Add("pods|" + k)
				}
				for _, k := range c.Informers.Apps().V1().ReplicaSets().Informer().GetStore().ListKeys() {
					c.Queue.Add("replicasets|" + k)
				}
			}}); err != nil {
				return nil, err
			}
		}
		return g, nil
	}
}

type orphaningGC struct {
	client kubernetes.Interface
}

func (g *orphaningGC) Name() string { return "garbagecollector" }

func (g *orphaningGC) Reconcile(ctx context.Context, key string) (interfaces.ReconcileResult, error) {
	kind, nsName, _ := cutKey(key)
	ns, name := runner.SplitKey(nsName)
	var refs []metav1.OwnerReference
	var uid types.UID
	switch kind {
	case "pods":
		p, err := g.client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return interfaces.ReconcileResult{}, client404(err)
		}
		refs, uid = p.OwnerReferences, p.UID
	case "replicasets":
		rs, err := g.client.AppsV1().ReplicaSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return interfaces.ReconcileResult{}, client404(err)
		}
		refs, uid = rs.OwnerReferences, rs.UID
	default:
		return interfaces.ReconcileResult{}, nil
	}
	for _, ref := range refs {
		var err error
		switch ref.Kind {
		case "ReplicaSet":
			_, err = g.client.AppsV1().ReplicaSets(ns).Get(ctx, ref.Name, metav1.GetOptions{})
		case "Deployment":
			_, err = g.client.AppsV1().Deployments(ns).Get(ctx, ref.Name, metav1.GetOptions{})
		default:
			continue
		}
		if !apierrors.IsNotFound(err) {
			continue
		}
		patch := runner.ReleasePatch(ref.UID, uid)
		if kind == "pods" {
			_, err = g.client.CoreV1().Pods(ns).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
		} else {
			_, err = g.client.AppsV1().ReplicaSets(ns).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
		}
		if err != nil && !apierrors.IsNotFound(err) {
			return interfaces.ReconcileResult{}, fmt.Errorf("orphaning %s: %w", key, err)
		}
	}
	return interfaces.ReconcileResult{}, nil
}

func cutKey(key string) (string, string, bool) {
	for i := range len(key) {
		if key[i] == '|' {
			return key[:i], key[i+1:], true
		}
	}
	return "", key, false
}

func client404(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// ErrorDroppingDeployment is the reference Deployment controller with a mistake controllers
// often make: a reconcile that failed (the API server refused a scale or a delete) is logged and
// dropped instead of retried with back-off, so the Deployment stays where the refusal left it
// until something else about it changes.
func ErrorDroppingDeployment() runner.Factory {
	return errorDropping(deployment.New())
}

// ErrorDroppingReplicaSet is the reference ReplicaSet controller whose failed reconciles are
// dropped, as ErrorDroppingDeployment's: pods it was refused are never created (or deleted)
// once the API server accepts them again.
func ErrorDroppingReplicaSet() runner.Factory {
	return errorDropping(replicaset.New(replicaset.Config{}))
}

func errorDropping(inner runner.Factory) runner.Factory {
	return func(c runner.Context) (interfaces.Controller, error) {
		ctrl, err := inner(c)
		if err != nil {
			return nil, err
		}
		return droppingErrors{ctrl}, nil
	}
}

type droppingErrors struct{ interfaces.Controller }

func (d droppingErrors) Reconcile(ctx context.Context, key string) (interfaces.ReconcileResult, error) {
	res, _ := d.Controller.Reconcile(ctx, key)
	return res, nil
}
