package quotaadmission

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	coreinformers "k8s.io/client-go/informers/core"
	corev1informers "k8s.io/client-go/informers/core/v1"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/clusterkit/clusterkit/reference/apiserver"
)

// The upstream plugin reads quotas from an informer factory's ResourceQuota lister. The plugin
// gets a factory whose only informer is a lister that reads the server's storage on every call
// and is always synced. The embedded interfaces are nil: the plugin calls nothing else.

type liveFactory struct {
	informers.SharedInformerFactory
	reader apiserver.ObjectReader
}

func (f liveFactory) Core() coreinformers.Interface { return liveCore{reader: f.reader} }

type liveCore struct {
	coreinformers.Interface
	reader apiserver.ObjectReader
}

func (c liveCore) V1() corev1informers.Interface { return liveV1{reader: c.reader} }

type liveV1 struct {
	corev1informers.Interface
	reader apiserver.ObjectReader
}

func (v liveV1) ResourceQuotas() corev1informers.TypedResourceQuotaInformer {
	return liveQuotaInformer{reader: v.reader}
}

type liveQuotaInformer struct {
	corev1informers.TypedResourceQuotaInformer
	reader apiserver.ObjectReader
}

func (i liveQuotaInformer) Informer() cache.SharedIndexInformer { return syncedInformer{} }
func (i liveQuotaInformer) Lister() corev1listers.ResourceQuotaLister {
	return liveLister{reader: i.reader}
}

type syncedInformer struct{ cache.SharedIndexInformer }

func (syncedInformer) HasSynced() bool { return true }

type liveLister struct{ reader apiserver.ObjectReader }

func (l liveLister) List(selector labels.Selector) ([]*corev1.ResourceQuota, error) {
	return liveNamespaceLister{reader: l.reader}.List(selector)
}

func (l liveLister) ResourceQuotas(namespace string) corev1listers.ResourceQuotaNamespaceLister {
	return liveNamespaceLister{reader: l.reader, namespace: namespace}
}

type liveNamespaceLister struct {
	reader    apiserver.ObjectReader
	namespace string
}

var resourceQuotas = corev1.SchemeGroupVersion.WithResource("resourcequotas")

// The lister interface has no context: the reads are of the in-process storage.

func (l liveNamespaceLister) List(selector labels.Selector) ([]*corev1.ResourceQuota, error) {
	objs, err := l.reader.List(context.Background(), resourceQuotas, l.namespace)
	if err != nil {
		return nil, err
	}
	out := make([]*corev1.ResourceQuota, 0, len(objs))
	for _, o := range objs {
		if q, ok := o.(*corev1.ResourceQuota); ok && selector.Matches(labels.Set(q.Labels)) {
			out = append(out, q)
		}
	}
	return out, nil
}

func (l liveNamespaceLister) Get(name string) (*corev1.ResourceQuota, error) {
	obj, err := l.reader.Get(context.Background(), resourceQuotas, l.namespace, name)
	if err != nil {
		return nil, err
	}
	q, ok := obj.(*corev1.ResourceQuota)
	if !ok {
		return nil, fmt.Errorf("quota %s/%s is a %T", l.namespace, name, obj)
	}
	return q, nil
}
