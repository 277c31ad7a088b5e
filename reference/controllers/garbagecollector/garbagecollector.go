package garbagecollector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/controllers/runner"
)

// Name of the controller in a manager.
const Name = "garbagecollector"

// Finalizers the API server adds for non-background propagation.
const (
	FinalizerForeground = metav1.FinalizerDeleteDependents // "foregroundDeletion"
	FinalizerOrphan     = metav1.FinalizerOrphanDependents // "orphan"
	ownerIndex          = "clusterkit.gc/owner-uid"
)

// Resource is a kind the collector knows.
type Resource struct {
	GVR        schema.GroupVersionResource
	Kind       string
	Namespaced bool
	// Watch: objects of the resource are watched as dependents and owners;
	// unwatched ones are only looked up (as owners) through the API.
	Watch bool
}

// DefaultResources are the kinds of the reference API server.
func DefaultResources() []Resource {
	return []Resource{
		{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, "Deployment", true, true},
		{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}, "ReplicaSet", true, true},
		{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}, "StatefulSet", true, true},
		{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "daemonsets"}, "DaemonSet", true, true},
		{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "controllerrevisions"}, "ControllerRevision", true, true},
		{schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}, "Job", true, true},
		{schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "cronjobs"}, "CronJob", true, true},
		{schema.GroupVersionResource{Version: "v1", Resource: "replicationcontrollers"}, "ReplicationController", true, true},
		{schema.GroupVersionResource{Version: "v1", Resource: "pods"}, "Pod", true, true},
		{schema.GroupVersionResource{Version: "v1", Resource: "services"}, "Service", true, true},
		{schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, "ConfigMap", true, true},
		{schema.GroupVersionResource{Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices"}, "EndpointSlice", true, true},
		{schema.GroupVersionResource{Group: "coordination.k8s.io", Version: "v1", Resource: "leases"}, "Lease", true, true},
		{schema.GroupVersionResource{Version: "v1", Resource: "endpoints"}, "Endpoints", true, true},
		{schema.GroupVersionResource{Version: "v1", Resource: "nodes"}, "Node", false, true},
		{schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, "Namespace", false, false},
	}
}

// Config configures the collector.
type Config struct {
	// Resources it knows (default DefaultResources()).
	Resources []Resource
}

// New returns the factory of the garbage collector.
func New(cfg Config) runner.Factory {
	if cfg.Resources == nil {
		cfg.Resources = DefaultResources()
	}
	return func(c runner.Context) (interfaces.Controller, error) {
		g := &collector{ctx: c, dyn: c.Dynamic, byKind: map[string]*watched{}, byGVR: map[string]*watched{}, absent: map[types.UID]bool{}}
		for _, r := range cfg.Resources {
			w := &watched{Resource: r}
			g.byKind[groupOf(r.GVR)+"/"+r.Kind] = w
			g.byGVR[gvrString(r.GVR)] = w
			if !r.Watch {
				continue
			}
			w.informer = c.DynamicInformers.ForResource(r.GVR)
			inf := w.informer.Informer()
			if err := inf.AddIndexers(cache.Indexers{ownerIndex: func(obj any) ([]string, error) {
				m, err := meta.Accessor(obj)
				if err != nil {
					return nil, nil
				}
				var out []string
				for _, ref := range m.GetOwnerReferences() {
					out = append(out, string(ref.UID))
				}
				return out, nil
			}}); err != nil {
				return nil, err
			}
			if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
				AddFunc:    func(obj any) { g.changed(w, obj) },
				UpdateFunc: func(_, obj any) { g.changed(w, obj) },
				DeleteFunc: func(obj any) { g.deleted(w, runner.Unwrap(obj)) },
			}); err != nil {
				return nil, err
			}
		}
		return g, nil
	}
}

type watched struct {
	Resource
	informer informers.GenericInformer
}

type collector struct {
	ctx    runner.Context
	dyn    dynamic.Interface
	byKind map[string]*watched
	byGVR  map[string]*watched

	mu     sync.Mutex
	absent map[types.UID]bool // owners verified gone (uids never return)
}

func (g *collector) Name() string { return Name }

func groupOf(gvr schema.GroupVersionResource) string { return gvr.Group }

func gvrString(gvr schema.GroupVersionResource) string {
	return gvr.Group + "/" + gvr.Version + "/" + gvr.Resource
}

// key encodes resource, namespace and name: "group/version/resource|ns/name".
func key(w *watched, ns, name string) string {
	return gvrString(w.GVR) + "|" + ns + "/" + name
}

func (g *collector) enqueue(w *watched, m metav1.Object) {
	g.ctx.Queue.Add(key(w, m.GetNamespace(), m.GetName()))
}

func (g *collector) changed(w *watched, obj any) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	if len(m.GetOwnerReferences()) > 0 {
		g.enqueue(w, m)
	}
	if m.GetDeletionTimestamp() != nil {
		if slices.Contains(m.GetFinalizers(), FinalizerForeground) || slices.Contains(m.GetFinalizers(), FinalizerOrphan) {
			g.enqueue(w, m)
		}
		g.enqueueOwners(m)
	}
}

func (g *collector) deleted(_ *watched, obj any) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	g.mu.Lock()
	g.absent[m.GetUID()] = true
	if len(g.absent) > 100000 {
		g.absent = map[types.UID]bool{m.GetUID(): true}
	}
	g.mu.Unlock()
	for _, d := range g.dependents(m.GetUID()) {
		g.ctx.Queue.Add(d.key)
	}
	g.enqueueOwners(m)
}

// enqueueOwners wakes owners waiting (foreground) for this dependent.
func (g *collector) enqueueOwners(m metav1.Object) {
	for _, ref := range m.GetOwnerReferences() {
		if w := g.kindOf(ref); w != nil && w.informer != nil {
			ns := ""
			if w.Namespaced {
				ns = m.GetNamespace()
			}
			g.ctx.Queue.Add(key(w, ns, ref.Name))
		}
	}
}

func (g *collector) kindOf(ref metav1.OwnerReference) *watched {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return nil
	}
	return g.byKind[gv.Group+"/"+ref.Kind]
}

type dependent struct {
	key string
	w   *watched
	obj metav1.Object
}

func (g *collector) dependents(owner types.UID) []dependent {
	var out []dependent
	for _, w := range g.byGVR {
		if w.informer == nil {
			continue
		}
		objs, err := w.informer.Informer().GetIndexer().ByIndex(ownerIndex, string(owner))
		if err != nil {
			continue
		}
		for _, o := range objs {
			if m, err := meta.Accessor(o); err == nil {
				out = append(out, dependent{key(w, m.GetNamespace(), m.GetName()), w, m})
			}
		}
	}
	return out
}

func (g *collector) client(w *watched, ns string) dynamic.ResourceInterface {
	if w.Namespaced {
		return g.dyn.Resource(w.GVR).Namespace(ns)
	}
	return g.dyn.Resource(w.GVR)
}

// Reconcile handles one object as an owner being deleted and as a dependent.
func (g *collector) Reconcile(ctx context.Context, k string) (interfaces.ReconcileResult, error) {
	gvr, nsName, ok := strings.Cut(k, "|")
	w := g.byGVR[gvr]
	if !ok || w == nil || w.informer == nil {
		return interfaces.ReconcileResult{}, nil
	}
	ns, name := runner.SplitKey(nsName)
	var obj any
	var err error
	if w.Namespaced {
		obj, err = w.informer.Lister().ByNamespace(ns).Get(name)
	} else {
		obj, err = w.informer.Lister().Get(name)
	}
	if apierrors.IsNotFound(err) {
		return interfaces.ReconcileResult{}, nil
	}
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return interfaces.ReconcileResult{}, nil
	}
	if m.GetDeletionTimestamp() != nil {
		switch {
		case slices.Contains(m.GetFinalizers(), FinalizerOrphan):
			return interfaces.ReconcileResult{}, g.orphan(ctx, w, m)
		case slices.Contains(m.GetFinalizers(), FinalizerForeground):
			return interfaces.ReconcileResult{}, g.foreground(ctx, w, m)
		}
		return interfaces.ReconcileResult{}, nil
	}
	return interfaces.ReconcileResult{}, g.checkOwners(ctx, w, m)
}

// orphan removes m's owner reference from its dependents, then the orphan
// finalizer from m.
func (g *collector) orphan(ctx context.Context, w *watched, m metav1.Object) error {
	var errs []error
	for _, d := range g.dependents(m.GetUID()) {
		_, err := g.client(d.w, d.obj.GetNamespace()).Patch(ctx, d.obj.GetName(), types.StrategicMergePatchType,
			runner.ReleasePatch(m.GetUID(), d.obj.GetUID()), metav1.PatchOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("orphaning %s: %w", d.key, err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return g.removeFinalizer(ctx, w, m, FinalizerOrphan)
}

// foreground deletes m's dependents and removes the foregroundDeletion
// finalizer once no blocking dependent is left.
func (g *collector) foreground(ctx context.Context, w *watched, m metav1.Object) error {
	blocked := false
	var errs []error
	fg := metav1.DeletePropagationForeground
	for _, d := range g.dependents(m.GetUID()) {
		if d.obj.GetDeletionTimestamp() == nil {
			// A dependent with another owner that stays is released from m, not deleted.
			solid, err := g.hasSolidOwner(ctx, d.obj, m.GetUID())
			if err != nil {
				errs = append(errs, fmt.Errorf("checking the other owners of %s: %w", d.key, err))
				continue
			}
			if solid {
				_, err := g.client(d.w, d.obj.GetNamespace()).Patch(ctx, d.obj.GetName(), types.StrategicMergePatchType,
					runner.ReleasePatch(m.GetUID(), d.obj.GetUID()), metav1.PatchOptions{})
				if err != nil && !apierrors.IsNotFound(err) {
					errs = append(errs, fmt.Errorf("releasing %s from its deleted owner: %w", d.key, err))
				}
				continue
			}
		}
		for _, ref := range d.obj.GetOwnerReferences() {
			if ref.UID == m.GetUID() && ref.BlockOwnerDeletion != nil && *ref.BlockOwnerDeletion {
				blocked = true
			}
		}
		if d.obj.GetDeletionTimestamp() != nil {
			continue
		}
		seen := d.obj
		if g.hasDependentDeletingDependents(d.obj.GetUID()) {
			// A cycle (d's own dependents wait for their dependents, which lead back here):
			// d stops blocking its owners before it is deleted, or every member waits for
			// the next forever. Kubernetes' collector breaks cycles the same way.
			unblocked, err := g.unblockOwners(ctx, d.w, d.obj)
			if err != nil {
				errs = append(errs, fmt.Errorf("unblocking the owners of %s: %w", d.key, err))
				continue
			}
			seen = unblocked
		}
		if err := g.deleteAsSeen(ctx, d.w, seen, fg); err != nil {
			// errOwnersChanged too: the owner is tried again with the
			// dependent's new version in the cache.
			errs = append(errs, fmt.Errorf("deleting dependent %s: %w", d.key, err))
		}
	}
	if len(errs) > 0 || blocked {
		// Dependents' deletions wake this owner again.
		return errors.Join(errs...)
	}
	return g.removeFinalizer(ctx, w, m, FinalizerForeground)
}

// hasDependentDeletingDependents reports whether a dependent of owner is itself being deleted
// in the foreground (waiting for its own dependents).
func (g *collector) hasDependentDeletingDependents(owner types.UID) bool {
	for _, d := range g.dependents(owner) {
		if d.obj.GetDeletionTimestamp() != nil && slices.Contains(d.obj.GetFinalizers(), FinalizerForeground) {
			return true
		}
	}
	return false
}

// unblockOwners sets blockOwnerDeletion=false on every owner reference of m that blocks and
// returns the object as written (m itself when nothing blocked).
func (g *collector) unblockOwners(ctx context.Context, w *watched, m metav1.Object) (metav1.Object, error) {
	refs := slices.Clone(m.GetOwnerReferences())
	changed := false
	for i := range refs {
		if refs[i].BlockOwnerDeletion != nil && *refs[i].BlockOwnerDeletion {
			no := false
			refs[i].BlockOwnerDeletion = &no
			changed = true
		}
	}
	if !changed {
		return m, nil
	}
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": refs, "uid": m.GetUID(), "resourceVersion": m.GetResourceVersion(),
	}})
	out, err := g.client(w, m.GetNamespace()).Patch(ctx, m.GetName(), types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (g *collector) removeFinalizer(ctx context.Context, w *watched, m metav1.Object, f string) error {
	kept := slices.DeleteFunc(slices.Clone(m.GetFinalizers()), func(s string) bool { return s == f })
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{
		"finalizers": kept, "resourceVersion": m.GetResourceVersion(),
	}})
	_, err := g.client(w, m.GetNamespace()).Patch(ctx, m.GetName(), types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("removing finalizer %s from %s/%s: %w", f, m.GetNamespace(), m.GetName(), err)
	}
	return nil
}

// ownerGone reports whether the object ref names is verifiably absent.
func (g *collector) ownerGone(ctx context.Context, ns string, ref metav1.OwnerReference) (bool, error) {
	owner, known, err := g.owner(ctx, ns, ref)
	if err != nil || !known {
		return false, err // an unknown kind: never collect on a guess
	}
	return owner == nil, nil
}

// owner returns the object ref names (nil when it is gone: absent, or replaced by another
// object of its name), and whether its kind is known to the collector.
func (g *collector) owner(ctx context.Context, ns string, ref metav1.OwnerReference) (metav1.Object, bool, error) {
	g.mu.Lock()
	gone := g.absent[ref.UID]
	g.mu.Unlock()
	if gone {
		return nil, true, nil
	}
	w := g.kindOf(ref)
	if w == nil {
		return nil, false, nil
	}
	if !w.Namespaced {
		ns = ""
	}
	if w.informer != nil {
		var obj any
		var err error
		if w.Namespaced {
			obj, err = w.informer.Lister().ByNamespace(ns).Get(ref.Name)
		} else {
			obj, err = w.informer.Lister().Get(ref.Name)
		}
		if err == nil {
			if m, err := meta.Accessor(obj); err == nil && m.GetUID() == ref.UID {
				return m, true, nil
			}
		}
	}
	// The cache may lag behind a new owner: ask the API.
	live, err := g.client(w, ns).Get(ctx, ref.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, true, err
	case live.GetUID() == ref.UID:
		return live, true, nil
	}
	g.mu.Lock()
	g.absent[ref.UID] = true
	g.mu.Unlock()
	return nil, true, nil
}

// hasSolidOwner reports whether d has an owner besides the one with UID except that exists
// and is not itself waiting for its dependents (foreground deletion): such a dependent is
// not deleted with except, only released from it, as Kubernetes' collector does.
func (g *collector) hasSolidOwner(ctx context.Context, d metav1.Object, except types.UID) (bool, error) {
	for _, ref := range d.GetOwnerReferences() {
		if ref.UID == except {
			continue
		}
		o, known, err := g.owner(ctx, d.GetNamespace(), ref)
		if err != nil {
			return false, err
		}
		if !known {
			return true, nil // an owner of a kind the collector does not watch: keep d
		}
		if o != nil && (o.GetDeletionTimestamp() == nil || !slices.Contains(o.GetFinalizers(), FinalizerForeground)) {
			return true, nil
		}
	}
	return false, nil
}

// checkOwners deletes m when all its owners are gone, or drops references
// to gone owners when some remain.
func (g *collector) checkOwners(ctx context.Context, w *watched, m metav1.Object) error {
	refs := m.GetOwnerReferences()
	if len(refs) == 0 {
		return nil
	}
	var gone []metav1.OwnerReference
	for _, ref := range refs {
		isGone, err := g.ownerGone(ctx, m.GetNamespace(), ref)
		if err != nil {
			return err
		}
		if isGone {
			gone = append(gone, ref)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	uid := m.GetUID()
	if len(gone) == len(refs) {
		err := g.deleteAsSeen(ctx, w, m, metav1.DeletePropagationBackground)
		if errors.Is(err, errOwnersChanged) {
			// The cache was behind (say, an orphaning removed the reference):
			// the new version's event brings the object back if it still
			// has owners.
			return nil
		}
		if err != nil {
			return fmt.Errorf("deleting %s/%s whose owners are gone: %w", m.GetNamespace(), m.GetName(), err)
		}
		return nil
	}
	var errs []error
	for _, ref := range gone {
		_, err := g.client(w, m.GetNamespace()).Patch(ctx, m.GetName(), types.StrategicMergePatchType,
			runner.ReleasePatch(ref.UID, uid), metav1.PatchOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// errOwnersChanged: the object to delete no longer has the owner references
// the decision to delete it was taken on.
var errOwnersChanged = errors.New("its owner references changed since the cache's version")

// deleteAsSeen deletes seen, the cache's version of an object, only while
// its owner references are still those of seen: the collector decides from
// its caches, which can lag behind the API (a dependent orphaned a moment
// ago still shows its owner there), so the delete carries seen's uid and
// resourceVersion. On a conflict the live object is read: if only other
// fields changed (a status update), it is deleted at its live version, so
// busy objects are not starved; if its owner references changed,
// errOwnersChanged. An object already gone is not an error.
func (g *collector) deleteAsSeen(ctx context.Context, w *watched, seen metav1.Object, policy metav1.DeletionPropagation) error {
	res := g.client(w, seen.GetNamespace())
	uid, rv := seen.GetUID(), seen.GetResourceVersion()
	for range 2 {
		err := res.Delete(ctx, seen.GetName(), metav1.DeleteOptions{PropagationPolicy: &policy,
			Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}})
		if err == nil || apierrors.IsNotFound(err) {
			return nil
		}
		if !apierrors.IsConflict(err) {
			return err
		}
		live, err := res.Get(ctx, seen.GetName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("re-reading after a conflict: %w", err)
		}
		if live.GetUID() != uid {
			return nil // replaced by another object of the name
		}
		if !equality.Semantic.DeepEqual(live.GetOwnerReferences(), seen.GetOwnerReferences()) {
			return errOwnersChanged
		}
		rv = live.GetResourceVersion()
	}
	return fmt.Errorf("deleting %s/%s: it changed at every try", seen.GetNamespace(), seen.GetName())
}
