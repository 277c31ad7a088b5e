package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterkit/clusterkit/reference/apiserver/registry"
	"github.com/clusterkit/clusterkit/reference/apiserver/storage"
)

// SystemNamespaces exist in every cluster; the first three may not be deleted.
var systemNamespaces = []string{metav1.NamespaceDefault, metav1.NamespaceSystem, metav1.NamespacePublic, corev1.NamespaceNodeLease}

// SystemNamespaces returns the namespaces the server creates at start.
func SystemNamespaces() []string { return append([]string(nil), systemNamespaces...) }

func (s *Server) namespaceResource() *registry.Resource {
	return s.registry().Lookup(corev1.SchemeGroupVersion.WithResource("namespaces"))
}

func (s *Server) ensureSystemNamespaces(ctx context.Context) error {
	res := s.namespaceResource()
	if res == nil {
		return nil
	}
	for _, name := range systemNamespaces {
		if _, err := s.objects.Get(ctx, res, "", name); err == nil {
			continue
		} else if !apierrors.IsNotFound(err) {
			return fmt.Errorf("reading namespace %s: %w", name, err)
		}
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		res.Strategy.Default(ns)
		if err := s.prepareCreate(res, ns); err != nil {
			return err
		}
		if _, err := s.objects.Create(ctx, res, ns); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating namespace %s: %w", name, err)
		}
	}
	return nil
}

func (s *Server) resumeNamespaceCleanups(ctx context.Context) {
	res := s.namespaceResource()
	if res == nil || s.cfg.DisableNamespaceCleanup {
		return
	}
	lr, err := s.objects.List(ctx, res, "", storage.ListOptions{})
	if err != nil {
		s.cfg.ErrorLog("apiserver: listing namespaces to resume cleanups: %v", err)
		return
	}
	for _, obj := range lr.Items {
		if ns := obj.(*corev1.Namespace); ns.DeletionTimestamp != nil {
			s.startNamespaceCleanup(ns.Name)
		}
	}
}

// deleteNamespace marks a namespace Terminating and starts emptying it; a namespace without
// finalizers is removed at once.
func (s *Server) deleteNamespace(ctx context.Context, res *registry.Resource, name string, opts *metav1.DeleteOptions, dry bool) (runtime.Object, bool, error) {
	for _, sys := range systemNamespaces[:3] {
		if name == sys {
			return nil, false, apierrors.NewForbidden(res.GroupResource(), name, errors.New("this namespace may not be deleted"))
		}
	}
	var dryResult runtime.Object
	out, err := s.objects.Update(ctx, res, "", name, func(cur runtime.Object) (runtime.Object, error) {
		if err := checkPreconditions(res, name, opts.Preconditions, cur); err != nil {
			return nil, err
		}
		ns := cur.(*corev1.Namespace)
		if ns.DeletionTimestamp == nil {
			ts := metav1.NewTime(s.now().UTC().Truncate(time.Second))
			ns.DeletionTimestamp = &ts
			zero := int64(0)
			ns.DeletionGracePeriodSeconds = &zero
		}
		ns.Status.Phase = corev1.NamespaceTerminating
		if dry {
			dryResult = ns
			return nil, errDryRun
		}
		if len(ns.Spec.Finalizers) == 0 && len(ns.Finalizers) == 0 {
			return nil, storage.ErrDelete
		}
		return ns, nil
	})
	if errors.Is(err, errDryRun) {
		return dryResult, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if !out.Deleted && !s.cfg.DisableNamespaceCleanup {
		s.startNamespaceCleanup(name)
	}
	return out.Object, out.Deleted, nil
}

func (s *Server) startNamespaceCleanup(name string) {
	if _, running := s.cleaning.LoadOrStore(name, struct{}{}); running {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.cleaning.Delete(name)
		t := time.NewTicker(s.cfg.NamespaceCleanupInterval)
		defer t.Stop()
		for {
			done, err := s.cleanNamespace(s.bg, name)
			if err != nil && s.bg.Err() == nil {
				s.cfg.ErrorLog("apiserver: cleaning namespace %s: %v", name, err)
			}
			if done {
				return
			}
			select {
			case <-s.bg.Done():
				return
			case <-t.C:
			}
		}
	}()
}

func (s *Server) stopNamespaceCleanup(string) {
	// The cleanup goroutine notices the namespace is gone on its next pass.
}

// cleanNamespace deletes what is left in a terminating namespace and, once it is empty, removes
// the "kubernetes" finalizer (which deletes the namespace when no other finalizer remains). It
// reports true when there is nothing more to do.
func (s *Server) cleanNamespace(ctx context.Context, name string) (bool, error) {
	res := s.namespaceResource()
	obj, err := s.objects.Get(ctx, res, "", name)
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if obj.(*corev1.Namespace).DeletionTimestamp == nil {
		return true, nil
	}
	// Pods go first and everything else only once they are gone (ordered namespace
	// deletion, as Kubernetes' namespace controller does since 1.33): a pod's volumes and
	// credentials stay until the pod has stopped.
	content := newNamespaceContent()
	opts := &metav1.DeleteOptions{}
	var rest []*registry.Resource
	var pods *registry.Resource
	for _, r := range s.registry().Resources() {
		if !r.Namespaced || r.Ephemeral || r.Computed {
			continue
		}
		if r.Group == "" && r.Resource == "pods" {
			pods = r
			continue
		}
		rest = append(rest, r)
	}
	var deleteErr error
	sweep := func(r *registry.Resource) error {
		lr, err := s.objects.List(ctx, r, name, storage.ListOptions{})
		if err != nil {
			return err
		}
		for _, item := range lr.Items {
			content.add(r, objectMeta(item))
			_, _, err := s.deleteObject(ctx, r, name, objectMeta(item).GetName(), opts)
			if err != nil && !apierrors.IsNotFound(err) && deleteErr == nil {
				deleteErr = err
			}
		}
		return nil
	}
	if pods != nil {
		if err := sweep(pods); err != nil {
			return false, err
		}
	}
	if content.total == 0 {
		for _, r := range rest {
			if err := sweep(r); err != nil {
				return false, err
			}
		}
	}
	if err := s.setNamespaceDeletionConditions(ctx, res, name, content, deleteErr); err != nil {
		return false, err
	}
	if deleteErr != nil {
		return false, deleteErr
	}
	if content.total > 0 {
		return false, nil
	}
	_, err = s.objects.Update(ctx, res, "", name, func(cur runtime.Object) (runtime.Object, error) {
		ns := cur.(*corev1.Namespace)
		kept := ns.Spec.Finalizers[:0]
		for _, f := range ns.Spec.Finalizers {
			if f != corev1.FinalizerKubernetes {
				kept = append(kept, f)
			}
		}
		ns.Spec.Finalizers = kept
		if shouldDeleteOnUpdate(ns) {
			return nil, storage.ErrDelete
		}
		return ns, nil
	})
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	return err == nil, err
}

// serveFinalize handles PUT namespaces/NAME/finalize: only spec.finalizers change; a terminating
// namespace left without finalizers is removed.
func (s *Server) serveFinalize(w http.ResponseWriter, r *http.Request, req request) {
	obj, _, err := s.decodeObject(w, r, req.res)
	if err != nil {
		writeError(w, err)
		return
	}
	body := obj.(*corev1.Namespace)
	if body.Name != req.name {
		writeError(w, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", body.Name, req.name)))
		return
	}
	out, err := s.objects.Update(r.Context(), req.res, "", req.name, func(cur runtime.Object) (runtime.Object, error) {
		ns := cur.(*corev1.Namespace)
		if err := checkResourceVersion(req.res, req.name, body.ResourceVersion, cur); err != nil {
			return nil, err
		}
		ns.Spec.Finalizers = body.Spec.Finalizers
		if shouldDeleteOnUpdate(ns) {
			return nil, storage.ErrDelete
		}
		return ns, nil
	})
	if err != nil {
		writeError(w, err)
		return
	}
	s.writeObject(w, r, req.res, http.StatusOK, out.Object)
}
