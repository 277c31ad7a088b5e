package apiserver

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/apiserver/customresource"
	"github.com/clusterkit/clusterkit/reference/apiserver/registry"
	"github.com/clusterkit/clusterkit/reference/apiserver/storage"
	"github.com/clusterkit/clusterkit/reference/apiserver/validation"
)

// crdRetryInterval is how often the CRD controller retries after an error, or re-checks a
// CRD whose custom resources are still being deleted.
const crdRetryInterval = time.Second

// crdState is what the server's CRD controller keeps between passes: the built-in resources
// and the entries built for each established CRD (rebuilt when its spec or names change).
type crdState struct {
	base    []*registry.Resource
	builder *customresource.Builder

	mu    sync.Mutex
	cache map[types.UID]crdEntries
}

type crdEntries struct {
	key       string
	resources []*registry.Resource
}

func newCRDState(base []*registry.Resource, builder *customresource.Builder) *crdState {
	return &crdState{
		base:    append([]*registry.Resource(nil), base...),
		builder: builder,
		cache:   map[types.UID]crdEntries{},
	}
}

// crdResource returns the CustomResourceDefinition entry, or nil when the server does not serve
// CRDs.
func (s *Server) crdResource() *registry.Resource {
	for _, r := range s.crds.base {
		if r.GroupVersionResource == registry.CRDResource {
			return r
		}
	}
	return nil
}

// runCRDController keeps the served registry in step with the stored CRDs until the server
// closes: after every change of a CRD it accepts its names, marks it Established and serves its
// versions; a deleted CRD stops being served, its custom resources are deleted and then its
// cleanup finalizer is removed. It runs once synchronously so stored CRDs are served at once.
func (s *Server) runCRDController(ctx context.Context) {
	res := s.crdResource()
	if res == nil {
		return
	}
	// The watch starts before the first pass, so no change falls between them.
	events, errc, werr := s.objects.Watch(s.bg, res, "", 0)
	pending, err := s.syncCRDs(ctx, res)
	if err != nil {
		s.cfg.ErrorLog("apiserver: CRD controller: %v", err)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		retry := pending || err != nil
		for s.bg.Err() == nil {
			if werr != nil {
				s.cfg.ErrorLog("apiserver: CRD controller: watch: %v", werr)
				if !sleepCtx(s.bg, crdRetryInterval) {
					return
				}
				// Changes between the last pass and the new watch are caught by one more pass.
				events, errc, werr = s.objects.Watch(s.bg, res, "", 0)
				retry = true
				continue
			}
			for open := true; open; {
				var tick <-chan time.Time
				if retry {
					tick = time.After(crdRetryInterval / 10)
				}
				select {
				case <-s.bg.Done():
					return
				case _, ok := <-events:
					if !ok {
						open = false
						if err := <-errc; err != nil {
							s.cfg.ErrorLog("apiserver: CRD controller: watch ended: %v", err)
						}
						continue
					}
					retry = true
				case <-tick:
					p, err := s.syncCRDs(s.bg, res)
					if err != nil && s.bg.Err() == nil {
						s.cfg.ErrorLog("apiserver: CRD controller: %v", err)
					}
					retry = false
					if p || err != nil {
						// Wait a full interval before the next pass.
						if !sleepCtx(s.bg, crdRetryInterval) {
							return
						}
						retry = true
					}
				}
			}
			events, errc, werr = s.objects.Watch(s.bg, res, "", 0)
			retry = true
		}
	}()
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// syncCRDs is one pass of the CRD controller. It reports pending work (a CRD whose custom
// resources are not all gone yet).
func (s *Server) syncCRDs(ctx context.Context, res *registry.Resource) (pending bool, err error) {
	lr, err := s.objects.List(ctx, res, "", storage.ListOptions{})
	if err != nil {
		return false, fmt.Errorf("listing CustomResourceDefinitions: %w", err)
	}
	crds := make([]*apiextensionsv1.CustomResourceDefinition, 0, len(lr.Items))
	for _, o := range lr.Items {
		crds = append(crds, o.(*apiextensionsv1.CustomResourceDefinition))
	}
	// The oldest CRD keeps a contested name, as kube-apiserver's naming controller.
	sort.SliceStable(crds, func(i, j int) bool {
		ti, tj := crds[i].CreationTimestamp, crds[j].CreationTimestamp
		if !ti.Equal(&tj) {
			return ti.Before(&tj)
		}
		return crds[i].Name < crds[j].Name
	})

	s.crds.mu.Lock()
	defer s.crds.mu.Unlock()
	var errs []error
	var extra []*registry.Resource
	// group -> name (plural, singular, short, kind, list kind) -> the CRD that holds it: first
	// the names already accepted, then those accepted in this pass.
	claimed := map[string]map[string]string{}
	for _, crd := range crds {
		claim(claimed, crd.Spec.Group, crd.Name, crd.Status.AcceptedNames)
	}
	live := map[types.UID]bool{}
	var writes, served []*apiextensionsv1.CustomResourceDefinition
	for _, crd := range crds {
		if crd.DeletionTimestamp != nil {
			done, err := s.cleanupCRD(ctx, res, crd)
			if err != nil {
				errs = append(errs, err)
			}
			pending = pending || !done
			continue
		}
		next := s.acceptNames(crd, claimed)
		if !crdEstablished(next) {
			writes = append(writes, next)
			continue
		}
		live[crd.UID] = true
		key := fmt.Sprintf("%d/%v", next.Generation, next.Status.AcceptedNames)
		entries, ok := s.crds.cache[crd.UID]
		if !ok || entries.key != key {
			built, err := s.crds.builder.Resources(next)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			entries = crdEntries{key: key, resources: built}
			s.crds.cache[crd.UID] = entries
		}
		// A CRD whose entries clash with what is served already (a built-in kind) is left out.
		if _, err := registry.New(append(append(append([]*registry.Resource(nil), s.crds.base...), extra...), entries.resources...)); err != nil {
			errs = append(errs, fmt.Errorf("CustomResourceDefinition %s: %w", crd.Name, err))
			continue
		}
		extra = append(extra, entries.resources...)
		writes = append(writes, next)
		served = append(served, next)
	}
	for uid := range s.crds.cache {
		if !live[uid] {
			delete(s.crds.cache, uid)
		}
	}
	reg, err := registry.New(append(append([]*registry.Resource(nil), s.crds.base...), extra...))
	if err != nil {
		errs = append(errs, err)
	} else {
		s.reg.Store(reg)
		s.openapi.setCRDs(served)
	}
	// The conditions are written once the resources are served, so a client that sees
	// Established can use them at once.
	for _, next := range writes {
		if err := s.writeCRDStatus(ctx, res, next); err != nil {
			errs = append(errs, err)
		}
	}
	return pending, errors.Join(errs...)
}

func crdEstablished(crd *apiextensionsv1.CustomResourceDefinition) bool {
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextensionsv1.Established {
			return c.Status == apiextensionsv1.ConditionTrue
		}
	}
	return false
}

// namesOf lists a CRD's names with the condition reason a conflict on each gives.
func namesOf(n apiextensionsv1.CustomResourceDefinitionNames) [][2]string {
	out := [][2]string{{n.Plural, "PluralConflict"}, {n.Singular, "SingularConflict"}, {n.Kind, "KindConflict"}, {n.ListKind, "ListKindConflict"}}
	for _, sn := range n.ShortNames {
		out = append(out, [2]string{sn, "ShortNamesConflict"})
	}
	return out
}

// claim records the names a CRD holds in its group (names held by another CRD stay its).
func claim(claimed map[string]map[string]string, group, crd string, names apiextensionsv1.CustomResourceDefinitionNames) {
	g := claimed[group]
	if g == nil {
		g = map[string]string{}
		claimed[group] = g
	}
	for _, n := range namesOf(names) {
		if n[0] == "" {
			continue
		}
		if _, taken := g[n[0]]; !taken {
			g[n[0]] = crd
		}
	}
}

// acceptNames returns crd with its NamesAccepted and Established conditions set (and its
// names claimed in claimed when accepted).
func (s *Server) acceptNames(crd *apiextensionsv1.CustomResourceDefinition, claimed map[string]map[string]string) *apiextensionsv1.CustomResourceDefinition {
	group := claimed[crd.Spec.Group]
	names := crd.Spec.Names
	if names.Singular == "" {
		names.Singular = names.Plural
	}
	if names.ListKind == "" {
		names.ListKind = names.Kind + "List"
	}
	reason, message := "NoConflicts", "no conflicts found"
	for _, n := range namesOf(names) {
		if n[0] == "" {
			continue
		}
		if owner, ok := group[n[0]]; ok && owner != crd.Name {
			reason, message = n[1], fmt.Sprintf("%q is already in use", n[0])
			break
		}
	}
	accepted := reason == "NoConflicts"
	next := crd.DeepCopy()
	if accepted {
		next.Status.AcceptedNames = names
		claim(claimed, crd.Spec.Group, crd.Name, names)
	}
	now := metav1.NewTime(s.now().UTC().Truncate(time.Second))
	setCRDCondition(next, apiextensionsv1.CustomResourceDefinitionCondition{
		Type: apiextensionsv1.NamesAccepted, Status: boolCondition(accepted), Reason: reason, Message: message,
	}, now)
	switch {
	case crdEstablished(next):
		// Once established, a CRD stays established under its accepted names.
	case accepted:
		setCRDCondition(next, apiextensionsv1.CustomResourceDefinitionCondition{
			Type: apiextensionsv1.Established, Status: apiextensionsv1.ConditionTrue,
			Reason: "InitialNamesAccepted", Message: "the initial names have been accepted",
		}, now)
	default:
		setCRDCondition(next, apiextensionsv1.CustomResourceDefinitionCondition{
			Type: apiextensionsv1.Established, Status: apiextensionsv1.ConditionFalse,
			Reason: "NotAccepted", Message: "not all names are accepted",
		}, now)
	}
	return next
}

// writeCRDStatus stores next's status unless the CRD changed meanwhile (the watch then brings
// another pass).
func (s *Server) writeCRDStatus(ctx context.Context, res *registry.Resource, next *apiextensionsv1.CustomResourceDefinition) error {
	_, err := s.objects.Update(ctx, res, "", next.Name, func(cur runtime.Object) (runtime.Object, error) {
		c := cur.(*apiextensionsv1.CustomResourceDefinition)
		if c.UID != next.UID || c.Generation != next.Generation || c.DeletionTimestamp != nil {
			return nil, errCRDChanged
		}
		c.Status = next.Status
		return c, nil
	})
	if errors.Is(err, errCRDChanged) || apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("CustomResourceDefinition %s: writing status: %w", next.Name, err)
	}
	return nil
}

var errCRDChanged = errors.New("CustomResourceDefinition changed")

func boolCondition(b bool) apiextensionsv1.ConditionStatus {
	if b {
		return apiextensionsv1.ConditionTrue
	}
	return apiextensionsv1.ConditionFalse
}

// setCRDCondition sets a condition, moving its lastTransitionTime only when its status changes.
func setCRDCondition(crd *apiextensionsv1.CustomResourceDefinition, c apiextensionsv1.CustomResourceDefinitionCondition, now metav1.Time) {
	for i := range crd.Status.Conditions {
		old := &crd.Status.Conditions[i]
		if old.Type != c.Type {
			continue
		}
		c.LastTransitionTime = old.LastTransitionTime
		if old.Status != c.Status {
			c.LastTransitionTime = now
		}
		*old = c
		return
	}
	c.LastTransitionTime = now
	crd.Status.Conditions = append(crd.Status.Conditions, c)
}

// cleanupCRD deletes the custom resources of a CRD being deleted and, once they are gone,
// removes its cleanup finalizer (the CRD is then removed if no other finalizer remains). It
// reports whether the cleanup is over.
func (s *Server) cleanupCRD(ctx context.Context, res *registry.Resource, crd *apiextensionsv1.CustomResourceDefinition) (bool, error) {
	hasFinalizer := false
	for _, f := range crd.Finalizers {
		if f == validation.CustomResourceCleanupFinalizer {
			hasFinalizer = true
		}
	}
	if !hasFinalizer {
		return true, nil
	}
	if err := s.setTerminating(ctx, res, crd); err != nil {
		return false, err
	}
	remaining, err := s.deleteCustomResources(ctx, crd)
	if err != nil {
		return false, fmt.Errorf("CustomResourceDefinition %s: deleting its custom resources: %w", crd.Name, err)
	}
	if remaining > 0 {
		return false, nil
	}
	_, err = s.objects.Update(ctx, res, "", crd.Name, func(cur runtime.Object) (runtime.Object, error) {
		c := cur.(*apiextensionsv1.CustomResourceDefinition)
		if c.UID != crd.UID {
			return nil, errCRDChanged
		}
		var keep []string
		for _, f := range c.Finalizers {
			if f != validation.CustomResourceCleanupFinalizer {
				keep = append(keep, f)
			}
		}
		c.Finalizers = keep
		if shouldDeleteOnUpdate(c) {
			return nil, storage.ErrDelete
		}
		return c, nil
	})
	if err != nil && !errors.Is(err, errCRDChanged) && !apierrors.IsNotFound(err) {
		return false, fmt.Errorf("CustomResourceDefinition %s: removing its finalizer: %w", crd.Name, err)
	}
	return true, nil
}

// setTerminating sets the Terminating condition of a CRD being deleted.
func (s *Server) setTerminating(ctx context.Context, res *registry.Resource, crd *apiextensionsv1.CustomResourceDefinition) error {
	now := metav1.NewTime(s.now().UTC().Truncate(time.Second))
	_, err := s.objects.Update(ctx, res, "", crd.Name, func(cur runtime.Object) (runtime.Object, error) {
		c := cur.(*apiextensionsv1.CustomResourceDefinition)
		if c.UID != crd.UID {
			return nil, errCRDChanged
		}
		setCRDCondition(c, apiextensionsv1.CustomResourceDefinitionCondition{
			Type: apiextensionsv1.Terminating, Status: apiextensionsv1.ConditionTrue,
			Reason: "InstanceDeletionInProgress", Message: "CustomResource deletion is in progress",
		}, now)
		return c, nil
	})
	if errors.Is(err, errCRDChanged) || apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// deleteCustomResources deletes every stored custom resource of crd (finalizers are honoured:
// such objects get their deletionTimestamp and stay until a controller removes them) and
// returns how many remain.
func (s *Server) deleteCustomResources(ctx context.Context, crd *apiextensionsv1.CustomResourceDefinition) (int, error) {
	c := crd.DeepCopy()
	if c.Status.AcceptedNames.Plural == "" {
		// Never established: nothing can have been stored.
		return 0, nil
	}
	entries, err := s.crds.builder.Resources(c)
	if err != nil || len(entries) == 0 {
		// No served version (or a schema that no longer builds): delete by key.
		return s.deleteCustomResourceKeys(ctx, c)
	}
	// The storage version's entry reads stored objects without converting them (when it is
	// served).
	res := entries[0]
	for _, e := range entries {
		for _, v := range c.Spec.Versions {
			if v.Storage && v.Name == e.Version {
				res = e
			}
		}
	}
	lr, err := s.objects.List(ctx, res, "", storage.ListOptions{})
	if err != nil {
		return 0, err
	}
	remaining := 0
	for _, o := range lr.Items {
		m := objectMeta(o)
		_, gone, err := s.deleteObject(ctx, res, m.GetNamespace(), m.GetName(), &metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return 0, err
		}
		if err == nil && !gone {
			remaining++
		}
	}
	return remaining, nil
}

// deleteCustomResourceKeys removes the stored custom resources of a CRD without decoding them.
func (s *Server) deleteCustomResourceKeys(ctx context.Context, crd *apiextensionsv1.CustomResourceDefinition) (int, error) {
	prefix := "/registry/" + customresource.StorageName(crd) + "/"
	lr, err := s.cfg.Store.List(ctx, prefix, interfaces.ListOptions{})
	if err != nil {
		return 0, err
	}
	for _, kv := range lr.Items {
		if _, err := s.cfg.Store.Delete(ctx, kv.Key, 0); err != nil && !apierrors.IsNotFound(err) {
			return 0, err
		}
	}
	return 0, nil
}
