package quotaadmission

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	coreinformers "k8s.io/client-go/informers/core"
	corev1informers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// The upstream plugin reads quotas from an informer factory's ResourceQuota lister. The server's
// loopback client serves lists but not watches, so the plugin gets a factory whose only
// informer is a lister that lists through the client on every call and is always synced. The
// embedded interfaces are nil: the plugin calls nothing else.

type liveFactory struct {
	informers.SharedInformerFactory
	client kubernetes.Interface
}

func (f liveFactory) Core() coreinformers.Interface { return liveCore{client: f.client} }

type liveCore struct {
	coreinformers.Interface
	client kubernetes.Interface
}

func (c liveCore) V1() corev1informers.Interface { return liveV1{client: c.client} }

type liveV1 struct {
	corev1informers.Interface
	client kubernetes.Interface
}

func (v liveV1) ResourceQuotas() corev1informers.TypedResourceQuotaInformer {
	return liveQuotaInformer{client: v.client}
}

type liveQuotaInformer struct {
	corev1informers.TypedResourceQuotaInformer
	client kubernetes.Interface
}

func (i liveQuotaInformer) Informer() cache.SharedIndexInformer { return syncedInformer{} }
func (i liveQuotaInformer) Lister() corev1listers.ResourceQuotaLister {
	return liveLister{client: i.client}
}

type syncedInformer struct{ cache.SharedIndexInformer }

func (syncedInformer) HasSynced() bool { return true }

type liveLister struct{ client kubernetes.Interface }

func (l liveLister) List(selector labels.Selector) ([]*corev1.ResourceQuota, error) {
	return liveNamespaceLister{client: l.client}.List(selector)
}

func (l liveLister) ResourceQuotas(namespace string) corev1listers.ResourceQuotaNamespaceLister {
	return liveNamespaceLister{client: l.client, namespace: namespace}
}

type liveNamespaceLister struct {
	client    kubernetes.Interface
	namespace string
}

func (l liveNamespaceLister) List(selector labels.Selector) ([]*corev1.ResourceQuota, error) {
	list, err := l.client.CoreV1().ResourceQuotas(l.namespace).List(context.Background(), metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return nil, err
	}
	out := make([]*corev1.ResourceQuota, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

func (l liveNamespaceLister) Get(name string) (*corev1.ResourceQuota, error) {
	q, err := l.client.CoreV1().ResourceQuotas(l.namespace).Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, err
	}
	return q, err
}
