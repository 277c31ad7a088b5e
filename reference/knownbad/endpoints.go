package knownbad

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/controllers/endpoints"
	"github.com/clusterkit/clusterkit/reference/controllers/runner"
)

// AllReadyEndpoints is an Endpoints controller that lists every pod with an IP under
// addresses, ready or not: clients are sent to pods that are not ready.
func AllReadyEndpoints() runner.Factory {
	return func(c runner.Context) (interfaces.Controller, error) {
		svcInf := c.Informers.Core().V1().Services()
		podInf := c.Informers.Core().V1().Pods()
		e := &allReadyEndpoints{client: c.Client, services: svcInf.Lister(), pods: podInf.Lister()}
		if _, err := svcInf.Informer().AddEventHandler(runner.EnqueueSelf(c.Queue)); err != nil {
			return nil, err
		}
		all := func(obj any) {
			if p, ok := runner.Unwrap(obj).(*corev1.Pod); ok {
				svcs, _ := e.services.Services(p.Namespace).List(labels.Everything())
				for _, s := range svcs {
					c.Queue.Add(p.Namespace + "/" + s.Name)
				}
			}
		}
		if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: all, UpdateFunc: func(_, n any) { all(n) }, DeleteFunc: all,
		}); err != nil {
			return nil, err
		}
		return e, nil
	}
}

type allReadyEndpoints struct {
	client   kubernetes.Interface
	services corelisters.ServiceLister
	pods     corelisters.PodLister
}

func (e *allReadyEndpoints) Name() string { return endpoints.Name }

func (e *allReadyEndpoints) Reconcile(ctx context.Context, key string) (interfaces.ReconcileResult, error) {
	ns, name := runner.SplitKey(key)
	svc, err := e.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		err := e.client.CoreV1().Endpoints(ns).Delete(ctx, name, metav1.DeleteOptions{})
		if apierrors.IsNotFound(err) {
			err = nil
		}
		return interfaces.ReconcileResult{}, err
	}
	if err != nil || svc.Spec.Selector == nil {
		return interfaces.ReconcileResult{}, err
	}
	// The bug: the Service is treated as if it published not-ready addresses.
	svc = svc.DeepCopy()
	svc.Spec.PublishNotReadyAddresses = true
	pods, err := e.pods.Pods(ns).List(labels.SelectorFromSet(svc.Spec.Selector))
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	want := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: endpoints.Labels(svc)},
		Subsets: endpoints.Subsets(svc, pods)}
	cur, err := e.client.CoreV1().Endpoints(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = e.client.CoreV1().Endpoints(ns).Create(ctx, want, metav1.CreateOptions{})
		return interfaces.ReconcileResult{}, err
	}
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	cur.Subsets, cur.Labels = want.Subsets, want.Labels
	_, err = e.client.CoreV1().Endpoints(ns).Update(ctx, cur, metav1.UpdateOptions{})
	return interfaces.ReconcileResult{}, err
}
