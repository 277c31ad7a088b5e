package apiserver

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"

	"github.com/clusterkit/clusterkit/reference/apiserver/registry"
	"github.com/clusterkit/clusterkit/reference/apiserver/storage"
)

// defaultPodGrace is the grace period of a pod without spec.terminationGracePeriodSeconds.
const defaultPodGrace = int64(corev1.DefaultTerminationGracePeriodSeconds)

// deleteObject deletes one object with Kubernetes semantics and reports whether it is gone:
//   - preconditions (uid, resourceVersion) must hold, else Conflict;
//   - a pod bound to a node and not terminal is deleted gracefully: it gets deletionTimestamp =
//     now + grace and deletionGracePeriodSeconds, and is removed by a later delete with grace 0;
//   - an object with finalizers gets deletionTimestamp and stays until they are removed;
//   - a namespace becomes Terminating and is emptied (see namespaces.go);
//   - anything else is removed at once.
func (s *Server) deleteObject(ctx context.Context, res *registry.Resource, namespace, name string, opts *metav1.DeleteOptions) (runtime.Object, bool, error) {
	dry := false
	for _, d := range opts.DryRun {
		if d == metav1.DryRunAll {
			dry = true
		}
	}
	if res.Resource == "namespaces" && res.Group == "" {
		return s.deleteNamespace(ctx, res, name, opts, dry)
	}
	var dryResult runtime.Object
	out, err := s.objects.Update(ctx, res, namespace, name, func(cur runtime.Object) (runtime.Object, error) {
		m := objectMeta(cur)
		if err := checkPreconditions(res, name, opts.Preconditions, cur); err != nil {
			return nil, err
		}
		if err := s.admitValidating(ctx, s.admissionAttributes(ctx, admission.Delete, res, "", namespace, name, nil, cur, dry)); err != nil {
			return nil, err
		}
		// Foreground and orphan propagation are the garbage collector's work: the object only
		// gets the matching finalizer (and, below, its deletionTimestamp) and stays until the
		// collector removes the finalizer.
		if f := propagationFinalizer(opts); f != "" {
			m.SetFinalizers(withPropagationFinalizer(m.GetFinalizers(), f))
		}
		now := s.now().UTC()
		if old, oldGrace := m.GetDeletionTimestamp(), m.GetDeletionGracePeriodSeconds(); old != nil && oldGrace != nil && *oldGrace > 0 {
			// Gracefully being deleted: as kube-apiserver's BeforeDelete, a later delete may only
			// shorten the grace period, moving the deadline back by the difference; a longer or
			// no grace period changes nothing.
			if opts.GracePeriodSeconds == nil || *opts.GracePeriodSeconds >= *oldGrace {
				dryResult = cur
				return nil, errUnchanged
			}
			grace := max(*opts.GracePeriodSeconds, 0)
			deadline := metav1.NewTime(old.Add(time.Duration(grace-*oldGrace) * time.Second))
			if deadline.Time.Before(now) {
				// Not into the past: the deadline is now, and a graceful delete stays graceful
				// (the kubelet still makes the final delete).
				deadline = metav1.NewTime(now.Truncate(time.Second))
				if grace != 0 {
					grace = 1
				}
			}
			if grace > 0 || len(m.GetFinalizers()) > 0 {
				m.SetDeletionTimestamp(&deadline)
				m.SetDeletionGracePeriodSeconds(&grace)
				if dry {
					dryResult = cur
					return nil, errDryRun
				}
				return cur, nil
			}
			if dry {
				dryResult = cur
				return nil, errDryRun
			}
			return nil, storage.ErrDelete
		}
		grace := s.gracePeriod(cur, opts)
		if grace > 0 {
			deadline := metav1.NewTime(now.Add(time.Duration(grace) * time.Second).Truncate(time.Second))
			if old := m.GetDeletionTimestamp(); old != nil && !deadline.Before(old) {
				// Held by finalizers with an earlier or equal deadline: nothing changes.
				dryResult = cur
				return nil, errUnchanged
			}
			if m.GetDeletionTimestamp() == nil && m.GetGeneration() > 0 {
				// A graceful deletion is a change of the desired state: the generation moves, as
				// kube-apiserver's BeforeDelete does (a pod's kubelet reports it observed it).
				m.SetGeneration(m.GetGeneration() + 1)
			}
			m.SetDeletionTimestamp(&deadline)
			m.SetDeletionGracePeriodSeconds(&grace)
			if dry {
				dryResult = cur
				return nil, errDryRun
			}
			return cur, nil
		}
		if len(m.GetFinalizers()) > 0 {
			zero := int64(0)
			if m.GetDeletionTimestamp() == nil {
				ts := metav1.NewTime(now.Truncate(time.Second))
				m.SetDeletionTimestamp(&ts)
				if m.GetGeneration() > 0 {
					m.SetGeneration(m.GetGeneration() + 1) // as kube-apiserver's markAsDeleting
				}
			}
			m.SetDeletionGracePeriodSeconds(&zero)
			if dry {
				dryResult = cur
				return nil, errDryRun
			}
			return cur, nil
		}
		if dry {
			dryResult = cur
			return nil, errDryRun
		}
		return nil, storage.ErrDelete
	})
	if errors.Is(err, errDryRun) {
		return dryResult, false, nil
	}
	if errors.Is(err, errUnchanged) {
		return dryResult, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if out.Deleted {
		s.serviceDeleted(ctx, out.Object)
	}
	return out.Object, out.Deleted, nil
}

var errUnchanged = errors.New("unchanged")

// propagationFinalizer is the finalizer a delete's propagation policy asks for: foregroundDeletion
// for Foreground, orphan for Orphan (or orphanDependents=true), none for Background or no policy.
func propagationFinalizer(opts *metav1.DeleteOptions) string {
	switch {
	case opts.PropagationPolicy != nil && *opts.PropagationPolicy == metav1.DeletePropagationForeground:
		return metav1.FinalizerDeleteDependents
	case opts.PropagationPolicy != nil && *opts.PropagationPolicy == metav1.DeletePropagationOrphan,
		opts.PropagationPolicy == nil && opts.OrphanDependents != nil && *opts.OrphanDependents:
		return metav1.FinalizerOrphanDependents
	}
	return ""
}

// withPropagationFinalizer adds f and drops the other propagation finalizer (a later delete
// with another policy replaces the earlier one, as in Kubernetes).
func withPropagationFinalizer(fins []string, f string) []string {
	out := make([]string, 0, len(fins)+1)
	for _, x := range fins {
		if x != metav1.FinalizerDeleteDependents && x != metav1.FinalizerOrphanDependents {
			out = append(out, x)
		}
	}
	return append(out, f)
}

// gracePeriod returns the grace period a delete of obj gets: only pods bound to a node and not
// terminal are deleted gracefully.
func (s *Server) gracePeriod(obj runtime.Object, opts *metav1.DeleteOptions) int64 {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return 0
	}
	if pod.Spec.NodeName == "" || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return 0
	}
	if opts.GracePeriodSeconds != nil {
		return *opts.GracePeriodSeconds
	}
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		return *pod.Spec.TerminationGracePeriodSeconds
	}
	return defaultPodGrace
}

// checkPreconditions enforces DeleteOptions.preconditions.
func checkPreconditions(res *registry.Resource, name string, p *metav1.Preconditions, cur runtime.Object) error {
	if p == nil {
		return nil
	}
	m := objectMeta(cur)
	if p.UID != nil && *p.UID != m.GetUID() {
		return apierrors.NewConflict(res.GroupResource(), name,
			fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", *p.UID, m.GetUID()))
	}
	if p.ResourceVersion != nil && *p.ResourceVersion != m.GetResourceVersion() {
		return apierrors.NewConflict(res.GroupResource(), name,
			fmt.Errorf("Precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v", *p.ResourceVersion, m.GetResourceVersion()))
	}
	return nil
}
