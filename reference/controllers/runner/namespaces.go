package runner

import (
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	corelisters "k8s.io/client-go/listers/core/v1"
)

// ActiveNamespace reports whether the cached namespace name exists and is
// Active, not terminating: the namespaces per-namespace controllers (the
// ServiceAccount controller, the root CA publisher) keep objects in.
func ActiveNamespace(namespaces corelisters.NamespaceLister, name string) (bool, error) {
	ns, err := namespaces.Get(name)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return ns.Status.Phase == corev1.NamespaceActive && ns.DeletionTimestamp == nil, nil
}

// CreateSettled reports whether a Create's error leaves nothing to do: it
// succeeded, the object already exists, or its namespace went away or began
// terminating since the cache saw it.
func CreateSettled(err error) bool {
	return err == nil || apierrors.IsAlreadyExists(err) || apierrors.IsNotFound(err) ||
		apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause)
}
