package rootcacertpublisher

import (
	"context"
	"fmt"
	"maps"

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
// root-ca-certificate-publisher-controller).
const Name = "root-ca-cert-publisher"

// The published ConfigMap, as Kubernetes names and describes it.
const (
	ConfigMapName         = "kube-root-ca.crt"
	DataKey               = "ca.crt"
	DescriptionAnnotation = "kubernetes.io/description"
	Description           = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. " +
		"No other usage is guaranteed across distributions of Kubernetes clusters."
)

// Config configures the publisher.
type Config struct {
	// RootCA is the cluster CA bundle (PEM) to publish; empty publishes an empty ca.crt.
	RootCA []byte
}

// New returns the factory of the root CA publisher. Its keys are namespace names.
func New(cfg Config) runner.Factory {
	ca := string(cfg.RootCA)
	return func(c runner.Context) (interfaces.Controller, error) {
		nsInf := c.Informers.Core().V1().Namespaces()
		cmInf := c.Informers.Core().V1().ConfigMaps()
		p := &publisher{client: c.Client, ca: ca, namespaces: nsInf.Lister(), configMaps: cmInf.Lister()}
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
		enqueueCM := func(obj any) {
			if cm, ok := runner.Unwrap(obj).(*corev1.ConfigMap); ok && cm.Name == ConfigMapName {
				c.Queue.Add(cm.Namespace)
			}
		}
		if _, err := cmInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			UpdateFunc: func(_, n any) { enqueueCM(n) }, DeleteFunc: enqueueCM,
		}); err != nil {
			return nil, err
		}
		return p, nil
	}
}

type publisher struct {
	client     kubernetes.Interface
	ca         string
	namespaces corelisters.NamespaceLister
	configMaps corelisters.ConfigMapLister
}

func (p *publisher) Name() string { return Name }

// Reconcile creates or repairs kube-root-ca.crt in the Active namespace key.
func (p *publisher) Reconcile(ctx context.Context, key string) (interfaces.ReconcileResult, error) {
	if active, err := runner.ActiveNamespace(p.namespaces, key); err != nil || !active {
		return interfaces.ReconcileResult{}, err
	}
	want := map[string]string{DataKey: p.ca}
	cm, err := p.configMaps.ConfigMaps(key).Get(ConfigMapName)
	if apierrors.IsNotFound(err) {
		_, err = p.client.CoreV1().ConfigMaps(key).Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: ConfigMapName, Namespace: key, Annotations: map[string]string{DescriptionAnnotation: Description}},
			Data:       want,
		}, metav1.CreateOptions{})
		if runner.CreateSettled(err) {
			// An existing one arrives through the informer and is checked then.
			return interfaces.ReconcileResult{}, nil
		}
		return interfaces.ReconcileResult{}, fmt.Errorf("creating ConfigMap %s/%s: %w", key, ConfigMapName, err)
	}
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	if maps.Equal(cm.Data, want) && cm.Annotations[DescriptionAnnotation] != "" {
		return interfaces.ReconcileResult{}, nil
	}
	cp := cm.DeepCopy()
	cp.Data = want
	if cp.Annotations == nil {
		cp.Annotations = map[string]string{}
	}
	cp.Annotations[DescriptionAnnotation] = Description
	// A conflict means a newer version is on its way through the informer: the retry reads it.
	if _, err := p.client.CoreV1().ConfigMaps(key).Update(ctx, cp, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return interfaces.ReconcileResult{}, fmt.Errorf("restoring ConfigMap %s/%s: %w", key, ConfigMapName, err)
	}
	return interfaces.ReconcileResult{}, nil
}
