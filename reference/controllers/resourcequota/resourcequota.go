package resourcequota

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	quotav1 "k8s.io/apiserver/pkg/quota/v1"
	"k8s.io/apiserver/pkg/quota/v1/generic"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/controllers/runner"
	"github.com/clusterkit/clusterkit/reference/quota"
)

// Name of the controller in a manager.
const Name = "resourcequota"

// FullResync is how often every quota is recomputed (kube-controller-manager's
// --resource-quota-sync-period default).
const FullResync = 5 * time.Minute

// listTimeout bounds one list of the objects a count/<resource> quota counts.
const listTimeout = 30 * time.Second

// watched are the resources whose deletions replenish quota.
var watched = []schema.GroupVersionResource{
	corev1.SchemeGroupVersion.WithResource("pods"),
	corev1.SchemeGroupVersion.WithResource("services"),
	corev1.SchemeGroupVersion.WithResource("configmaps"),
	corev1.SchemeGroupVersion.WithResource("secrets"),
	corev1.SchemeGroupVersion.WithResource("replicationcontrollers"),
	corev1.SchemeGroupVersion.WithResource("resourcequotas"),
	corev1.SchemeGroupVersion.WithResource("persistentvolumeclaims"),
}

// New returns the factory of the resource-quota controller. Its keys are namespace/name of
// quotas.
func New() runner.Factory {
	return func(c runner.Context) (interfaces.Controller, error) {
		qInf := c.Informers.Core().V1().ResourceQuotas()
		listers := map[schema.GroupVersionResource]cache.GenericLister{}
		for _, gvr := range watched {
			inf, err := c.Informers.ForResource(gvr)
			if err != nil {
				return nil, err
			}
			listers[gvr] = inf.Lister()
		}
		// A resource the controller does not watch counts nothing: failing instead would leave
		// every quota that names it without a status.
		none := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
		listerFor := func(gvr schema.GroupVersionResource) (cache.GenericLister, error) {
			if l, ok := listers[gvr]; ok {
				return l, nil
			}
			return cache.NewGenericLister(none, gvr.GroupResource()), nil
		}
		r := &controller{
			client: c.Client, dynamic: c.Dynamic, quotas: qInf.Lister(),
			registry:     generic.NewRegistry(quota.Evaluators(listerFor, c.Clock)),
			dynInformers: c.DynamicInformers,
		}
		if _, err := qInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: func(obj any) { enqueue(c, obj) },
			// Only a change of spec.hard (or a missing status) needs a recount: admission
			// charges status.used itself, and a recount from a lagging cache could undo that.
			UpdateFunc: func(_, n any) {
				if q, ok := n.(*corev1.ResourceQuota); ok && needsSync(q) {
					enqueue(c, q)
				}
			},
		}); err != nil {
			return nil, err
		}
		replenish := func(obj any) {
			if ns := namespaceOf(obj); ns != "" {
				r.enqueueNamespace(c, ns)
			}
		}
		r.replenish = replenish
		for _, gvr := range watched {
			inf, _ := c.Informers.ForResource(gvr)
			h := cache.ResourceEventHandlerFuncs{DeleteFunc: replenish}
			if gvr.Resource == "pods" {
				h.UpdateFunc = func(o, n any) {
					op, ok1 := o.(*corev1.Pod)
					np, ok2 := n.(*corev1.Pod)
					if ok1 && ok2 && chargedPhase(op) != chargedPhase(np) {
						replenish(np)
					}
				}
			}
			if _, err := inf.Informer().AddEventHandler(h); err != nil {
				return nil, err
			}
		}
		return r, nil
	}
}

type controller struct {
	client   kubernetes.Interface
	dynamic  dynamic.Interface
	quotas   corelisters.ResourceQuotaLister
	registry quotav1.Registry
	// dynInformers watches the resources of count/<resource> quotas that no evaluator
	// covers, for deletions; replenish recounts the quotas of a deleted object's namespace.
	dynInformers dynamicinformer.DynamicSharedInformerFactory
	replenish    func(obj any)
}

func (r *controller) Name() string { return Name }

func enqueue(c runner.Context, obj any) {
	if k, ok := runner.Key(obj); ok {
		c.Queue.Add(k)
	}
}

func (r *controller) enqueueNamespace(c runner.Context, ns string) {
	qs, err := r.quotas.ResourceQuotas(ns).List(labels.Everything())
	if err != nil {
		return
	}
	for _, q := range qs {
		c.Queue.Add(ns + "/" + q.Name)
	}
}

func namespaceOf(obj any) string {
	if m, err := metaAccessor(runner.Unwrap(obj)); err == nil {
		return m.GetNamespace()
	}
	return ""
}

func metaAccessor(obj any) (metav1.Object, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("%T has no metadata", obj)
	}
	return m, nil
}

// chargedPhase: terminal pods no longer count against compute quota.
func chargedPhase(p *corev1.Pod) bool {
	return p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed
}

func needsSync(q *corev1.ResourceQuota) bool {
	return q.Status.Hard == nil || q.Status.Used == nil || !quotav1.Equals(q.Spec.Hard, q.Status.Hard)
}

// Reconcile sets status.hard to spec.hard and status.used to the namespace's usage of each
// hard resource.
func (r *controller) Reconcile(ctx context.Context, key string) (interfaces.ReconcileResult, error) {
	ns, name := runner.SplitKey(key)
	if _, err := r.quotas.ResourceQuotas(ns).Get(name); apierrors.IsNotFound(err) {
		return interfaces.ReconcileResult{}, nil
	} else if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	// The quota is read live: quota admission charges status.used through the API, and its
	// event can reach the cache after the one that woke this recount (a deleted pod), so a
	// cached status may already equal the fresh usage while the stored one does not. It is
	// read by a list of one name: the controller's ClusterRole (upstream's
	// system:controller:resourcequota-controller) grants list and watch, not get.
	live, err := r.client.CoreV1().ResourceQuotas(ns).List(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String(),
	})
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	if len(live.Items) == 0 {
		return interfaces.ReconcileResult{}, nil
	}
	q := &live.Items[0]
	hard := quotav1.Add(corev1.ResourceList{}, q.Spec.Hard)
	if err := r.addCountEvaluators(ctx, hard); err != nil {
		return interfaces.ReconcileResult{}, err
	}
	used := corev1.ResourceList{}
	if q.Status.Used != nil {
		used = quotav1.Add(corev1.ResourceList{}, q.Status.Used)
	}
	fresh, err := quotav1.CalculateUsage(q.Namespace, q.Spec.Scopes, hard, r.registry, q.Spec.ScopeSelector)
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	for k, v := range fresh {
		used[k] = v
	}
	used = quotav1.Mask(used, quotav1.ResourceNames(hard))
	if q.Status.Hard != nil && q.Status.Used != nil && quotav1.Equals(hard, q.Status.Hard) && quotav1.Equals(used, q.Status.Used) {
		return interfaces.ReconcileResult{RequeueAfter: FullResync}, nil
	}
	cp := q.DeepCopy()
	cp.Status = corev1.ResourceQuotaStatus{Hard: hard, Used: used}
	if _, err := r.client.CoreV1().ResourceQuotas(ns).UpdateStatus(ctx, cp, metav1.UpdateOptions{}); err != nil {
		return interfaces.ReconcileResult{}, fmt.Errorf("updating the status of quota %s: %w", key, err)
	}
	return interfaces.ReconcileResult{RequeueAfter: FullResync}, nil
}

// addCountEvaluators adds an object-count evaluator for every count/<resource>.<group> of hard
// that no evaluator covers yet. It counts through the dynamic client at each recount (of the
// group's preferred version), and watches the resource from then on (until ctx, the
// controller's run, ends) so that a deletion frees the quota at once, as kube-controller-
// manager's quota monitor does.
func (r *controller) addCountEvaluators(ctx context.Context, hard corev1.ResourceList) error {
	var groups map[string]string
	for name := range hard {
		rest, ok := strings.CutPrefix(string(name), "count/")
		if !ok {
			continue
		}
		gr := schema.ParseGroupResource(rest)
		if r.registry.Get(gr) != nil || r.dynamic == nil {
			continue
		}
		if groups == nil {
			list, err := r.client.Discovery().ServerGroups()
			if err != nil {
				return fmt.Errorf("discovering API groups for %s: %w", name, err)
			}
			groups = map[string]string{}
			for _, g := range list.Groups {
				groups[g.Name] = g.PreferredVersion.Version
			}
		}
		version, ok := groups[gr.Group]
		if !ok {
			continue // not served: the quota's usage of it stays unknown
		}
		gvr := gr.WithVersion(version)
		if r.dynInformers != nil && r.replenish != nil {
			if _, err := r.dynInformers.ForResource(gvr).Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: r.replenish}); err != nil {
				return fmt.Errorf("watching %s for quota: %w", gvr, err)
			}
			r.dynInformers.Start(ctx.Done())
		}
		client := r.dynamic
		r.registry.Add(generic.NewObjectCountEvaluator(gr, func(namespace string) ([]runtime.Object, error) {
			// The evaluator's list function outlives this reconcile: each list gets its own
			// bounded context.
			lctx, cancel := context.WithTimeout(context.Background(), listTimeout)
			defer cancel()
			list, err := client.Resource(gvr).Namespace(namespace).List(lctx, metav1.ListOptions{})
			if err != nil {
				return nil, err
			}
			out := make([]runtime.Object, len(list.Items))
			for i := range list.Items {
				out[i] = &list.Items[i]
			}
			return out, nil
		}, ""))
	}
	return nil
}
