package knownbad

import (
	"context"
	"errors"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/controllers/daemonset"
	"github.com/clusterkit/clusterkit/reference/controllers/runner"
)

// TaintBlindDaemonSet is a DaemonSet controller that creates a daemon pod (pinned, with the
// default tolerations) for every node its template's node affinity and nodeSelector match,
// without looking at the node's taints: nodes with an untolerated NoSchedule taint get a pod
// too.
func TaintBlindDaemonSet() runner.Factory {
	return func(c runner.Context) (interfaces.Controller, error) {
		dsInf := c.Informers.Apps().V1().DaemonSets()
		podInf := c.Informers.Core().V1().Pods()
		nodeInf := c.Informers.Core().V1().Nodes()
		d := &taintBlindDaemonSet{client: c.Client, dss: dsInf.Lister(), pods: podInf.Lister(), nodes: nodeInf.Lister()}
		if _, err := dsInf.Informer().AddEventHandler(runner.EnqueueSelf(c.Queue)); err != nil {
			return nil, err
		}
		owner := func(obj any) {
			if ref := runner.ControllerOf(obj); ref != nil && ref.Kind == "DaemonSet" {
				if p, ok := runner.Unwrap(obj).(*corev1.Pod); ok {
					c.Queue.Add(p.Namespace + "/" + ref.Name)
				}
			}
		}
		if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: owner, UpdateFunc: func(_, n any) { owner(n) }, DeleteFunc: owner,
		}); err != nil {
			return nil, err
		}
		all := func(any) {
			list, _ := d.dss.List(labels.Everything())
			for _, ds := range list {
				c.Queue.Add(ds.Namespace + "/" + ds.Name)
			}
		}
		if _, err := nodeInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: all, UpdateFunc: func(_, n any) { all(n) }, DeleteFunc: all,
		}); err != nil {
			return nil, err
		}
		return d, nil
	}
}

type taintBlindDaemonSet struct {
	client kubernetes.Interface
	dss    appslisters.DaemonSetLister
	pods   corelisters.PodLister
	nodes  corelisters.NodeLister
}

func (d *taintBlindDaemonSet) Name() string { return daemonset.Name }

func (d *taintBlindDaemonSet) Reconcile(ctx context.Context, key string) (interfaces.ReconcileResult, error) {
	ns, name := runner.SplitKey(key)
	ds, err := d.dss.DaemonSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return interfaces.ReconcileResult{}, nil
	}
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	pods, err := d.pods.Pods(ns).List(labels.Everything())
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	have := map[string]bool{}
	for _, p := range pods {
		if ref := metav1.GetControllerOfNoCopy(p); ref != nil && ref.UID == ds.UID && p.DeletionTimestamp == nil {
			have[daemonset.TargetNode(p)] = true
		}
	}
	nodes, err := d.nodes.List(labels.Everything())
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	var errs []error
	for _, n := range nodes {
		if have[n.Name] {
			continue
		}
		if ok, err := nodeaffinity.GetRequiredNodeAffinity(&corev1.Pod{Spec: ds.Spec.Template.Spec}).Match(n); err != nil || !ok {
			continue
		}
		t := ds.Spec.Template.DeepCopy()
		spec := t.Spec
		spec.Tolerations = append(spec.Tolerations, daemonset.DefaultTolerations()...)
		terms := []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{{
			Key: metav1.ObjectNameField, Operator: corev1.NodeSelectorOpIn, Values: []string{n.Name}}}}}
		spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: terms}}}
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{GenerateName: ds.Name + "-", Labels: t.Labels,
				OwnerReferences: []metav1.OwnerReference{runner.ControllerRef(ds, appsv1DaemonSetKind)}},
			Spec: spec,
		}
		if _, err := d.client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			errs = append(errs, err)
		}
	}
	return interfaces.ReconcileResult{}, errors.Join(errs...)
}

var appsv1DaemonSetKind = appsv1.SchemeGroupVersion.WithKind("DaemonSet")
