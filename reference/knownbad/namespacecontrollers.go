package knownbad

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/controllers/rootcacertpublisher"
	"github.com/clusterkit/clusterkit/reference/controllers/runner"
	"github.com/clusterkit/clusterkit/reference/controllers/serviceaccount"
)

// OnceOnlyServiceAccount is a ServiceAccount controller that creates the
// default ServiceAccount when it first sees a namespace and never looks
// again: it reacts to the namespace's arrival instead of reconciling, so a
// deleted default ServiceAccount stays deleted.
func OnceOnlyServiceAccount() runner.Factory {
	return func(c runner.Context) (interfaces.Controller, error) {
		if _, err := c.Informers.Core().V1().Namespaces().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: func(obj any) {
				if ns, ok := obj.(*corev1.Namespace); ok {
					c.Queue.Add(ns.Name)
				}
			},
		}); err != nil {
			return nil, err
		}
		return &onceOnlyServiceAccount{client: c.Client}, nil
	}
}

type onceOnlyServiceAccount struct {
	client kubernetes.Interface
}

func (s *onceOnlyServiceAccount) Name() string { return serviceaccount.Name }

func (s *onceOnlyServiceAccount) Reconcile(ctx context.Context, ns string) (interfaces.ReconcileResult, error) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: serviceaccount.DefaultName, Namespace: ns}}
	_, err := s.client.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{})
	if err == nil || apierrors.IsAlreadyExists(err) || apierrors.IsNotFound(err) || apierrors.IsForbidden(err) {
		return interfaces.ReconcileResult{}, nil
	}
	return interfaces.ReconcileResult{}, err
}

// CreateOnlyRootCAPublisher is a root CA publisher that creates a missing
// kube-root-ca.crt but never checks the data of an existing one: an edited
// ConfigMap keeps the edit.
func CreateOnlyRootCAPublisher() runner.Factory {
	return func(c runner.Context) (interfaces.Controller, error) {
		cmInf := c.Informers.Core().V1().ConfigMaps()
		p := &createOnlyRootCA{client: c.Client, configMaps: cmInf.Lister()}
		enqueueNS := func(obj any) {
			if ns, ok := obj.(*corev1.Namespace); ok {
				c.Queue.Add(ns.Name)
			}
		}
		if _, err := c.Informers.Core().V1().Namespaces().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: enqueueNS, UpdateFunc: func(_, n any) { enqueueNS(n) },
		}); err != nil {
			return nil, err
		}
		if _, err := cmInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: func(obj any) {
			if cm, ok := runner.Unwrap(obj).(*corev1.ConfigMap); ok && cm.Name == rootcacertpublisher.ConfigMapName {
				c.Queue.Add(cm.Namespace)
			}
		}}); err != nil {
			return nil, err
		}
		return p, nil
	}
}

type createOnlyRootCA struct {
	client     kubernetes.Interface
	configMaps corelisters.ConfigMapLister
}

func (p *createOnlyRootCA) Name() string { return rootcacertpublisher.Name }

func (p *createOnlyRootCA) Reconcile(ctx context.Context, ns string) (interfaces.ReconcileResult, error) {
	if _, err := p.configMaps.ConfigMaps(ns).Get(rootcacertpublisher.ConfigMapName); !apierrors.IsNotFound(err) {
		return interfaces.ReconcileResult{}, err
	}
	_, err := p.client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: rootcacertpublisher.ConfigMapName, Namespace: ns,
			Annotations: map[string]string{rootcacertpublisher.DescriptionAnnotation: rootcacertpublisher.Description}},
		Data: map[string]string{rootcacertpublisher.DataKey: ""},
	}, metav1.CreateOptions{})
	if err == nil || apierrors.IsAlreadyExists(err) || apierrors.IsNotFound(err) || apierrors.IsForbidden(err) {
		return interfaces.ReconcileResult{}, nil
	}
	return interfaces.ReconcileResult{}, err
}
