package serviceaccount

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/controllers/runner"
)

// Name of the controller in a manager (kube-controller-manager's alias of its
// serviceaccount-controller).
const Name = "serviceaccount"

// DefaultName is the ServiceAccount every namespace gets.
const DefaultName = "default"

// New returns the factory of the ServiceAccount controller. Its keys are namespace names.
func New() runner.Factory {
	return func(c runner.Context) (interfaces.Controller, error) {
		nsInf := c.Informers.Core().V1().Namespaces()
		saInf := c.Informers.Core().V1().ServiceAccounts()
		s := &controller{client: c.Client, namespaces: nsInf.Lister(), accounts: saInf.Lister()}
		enqueueNS := func(obj any) {
			if ns, ok := runner.Unwrap(obj).(*corev1.Namespace); ok {
				c.Queue.Add(ns.Name)
			}
		}
		if _, err := nsInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: enqueueNS, UpdateFunc: func(_, n any) { enqueueNS(n) },
		}); err != nil {
			return nil, err
		}
		accountGone := func(obj any) {
			if sa, ok := runner.Unwrap(obj).(*corev1.ServiceAccount); ok && sa.Name == DefaultName {
				c.Queue.Add(sa.Namespace)
			}
		}
		if _, err := saInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: accountGone}); err != nil {
			return nil, err
		}
		return s, nil
	}
}

type controller struct {
	client     kubernetes.Interface
	namespaces corelisters.NamespaceLister
	accounts   corelisters.ServiceAccountLister
}

func (s *controller) Name() string { return Name }

// Reconcile makes sure the Active namespace key has its default ServiceAccount.
func (s *controller) Reconcile(ctx context.Context, key string) (interfaces.ReconcileResult, error) {
	if active, err := runner.ActiveNamespace(s.namespaces, key); err != nil || !active {
		return interfaces.ReconcileResult{}, err
	}
	if _, err := s.accounts.ServiceAccounts(key).Get(DefaultName); err == nil {
		return interfaces.ReconcileResult{}, nil
	} else if !apierrors.IsNotFound(err) {
		return interfaces.ReconcileResult{}, err
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: DefaultName, Namespace: key}}
	_, err := s.client.CoreV1().ServiceAccounts(key).Create(ctx, sa, metav1.CreateOptions{})
	if runner.CreateSettled(err) {
		return interfaces.ReconcileResult{}, nil
	}
	return interfaces.ReconcileResult{}, fmt.Errorf("creating ServiceAccount %s/%s: %w", key, DefaultName, err)
}
