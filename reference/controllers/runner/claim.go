package runner

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// PodClaim describes how an owner claims pods, as Kubernetes' PodControllerRefManager does:
// it keeps the pods it controls that match its selector, releases those that stopped matching
// and adopts matching orphans.
type PodClaim struct {
	// Owner and Kind make the controller reference of adopted pods.
	Owner metav1.Object
	Kind  schema.GroupVersionKind
	// Selector is the owner's pod selector.
	Selector labels.Selector
	// KeepWhileDeleting keeps owned pods that no longer match while the owner is being deleted
	// (instead of leaving them out).
	KeepWhileDeleting bool
	// MayAdopt, when set, must also allow adopting orphans (e.g. not for a finished Job).
	MayAdopt bool
	// Recheck reads the owner live before the first adoption and fails when it is gone,
	// replaced or being deleted: the cache is behind, and adopting would be wrong.
	Recheck func(ctx context.Context) error
}

// ClaimPods returns the pods c.Owner controls among pods, after adopting matching orphans and
// releasing owned pods that no longer match.
func ClaimPods(ctx context.Context, client kubernetes.Interface, c PodClaim, pods []*corev1.Pod) ([]*corev1.Pod, error) {
	var out []*corev1.Pod
	var errs []error
	owner := c.Owner
	deleting := owner.GetDeletionTimestamp() != nil
	checked := false
	for _, p := range pods {
		ref := metav1.GetControllerOfNoCopy(p)
		matches := c.Selector.Matches(labels.Set(p.Labels))
		switch {
		case ref != nil && ref.UID == owner.GetUID():
			if matches || (deleting && c.KeepWhileDeleting) {
				out = append(out, p)
				continue
			}
			if deleting {
				continue
			}
			_, err := client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType,
				ReleasePatch(owner.GetUID(), p.UID), metav1.PatchOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("releasing pod %s: %w", p.Name, err))
			}
		case ref == nil && matches && p.DeletionTimestamp == nil && !deleting && c.MayAdopt:
			if !checked {
				if err := c.Recheck(ctx); err != nil {
					return out, err
				}
				checked = true
			}
			adopted, err := client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType,
				AdoptPatch(ControllerRef(owner, c.Kind), p.UID), metav1.PatchOptions{})
			if err != nil {
				if !apierrors.IsNotFound(err) {
					errs = append(errs, fmt.Errorf("adopting pod %s: %w", p.Name, err))
				}
				continue
			}
			if r := metav1.GetControllerOfNoCopy(adopted); r != nil && r.UID == owner.GetUID() {
				out = append(out, adopted)
			}
		}
	}
	return out, errors.Join(errs...)
}

// RecheckOwner is the usual PodClaim.Recheck: get reads the owner live; it must still be the
// same object (uid) and not being deleted.
func RecheckOwner(what string, owner metav1.Object, get func(ctx context.Context) (metav1.Object, error)) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		live, err := get(ctx)
		if err != nil {
			return fmt.Errorf("re-reading %s before adopting: %w", what, err)
		}
		if live.GetUID() != owner.GetUID() || live.GetDeletionTimestamp() != nil {
			return fmt.Errorf("%s %s/%s is being deleted: not adopting (the cache is behind)", what, owner.GetNamespace(), owner.GetName())
		}
		return nil
	}
}
