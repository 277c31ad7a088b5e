package runner

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/clusterkit/clusterkit/interfaces"
)

// Key returns the "namespace/name" key of an informer object (or of the
// object inside a DeletedFinalStateUnknown tombstone).
func Key(obj any) (string, bool) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	return key, err == nil
}

// SplitKey splits a "namespace/name" key; a cluster-scoped key has no
// namespace.
func SplitKey(key string) (namespace, name string) {
	ns, n, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return "", key
	}
	return ns, n
}

// Unwrap returns the object of a tombstone, or obj itself.
func Unwrap(obj any) any {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return t.Obj
	}
	return obj
}

// EnqueueSelf is an event handler that adds the key of every added, updated
// and deleted object.
func EnqueueSelf(q interfaces.KeyQueue) cache.ResourceEventHandler {
	add := func(obj any) {
		if k, ok := Key(obj); ok {
			q.Add(k)
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    add,
		UpdateFunc: func(_, obj any) { add(obj) },
		DeleteFunc: add,
	}
}

// ControllerOf returns the controller owner reference of obj, if it has one.
func ControllerOf(obj any) *metav1.OwnerReference {
	m, err := meta.Accessor(Unwrap(obj))
	if err != nil {
		return nil
	}
	return metav1.GetControllerOfNoCopy(m)
}
