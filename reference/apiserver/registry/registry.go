package registry

import (
	"fmt"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apimachinery/pkg/version"
)

// Standard verb sets.
var (
	// CRUDVerbs are the verbs of an ordinary resource collection.
	crudVerbs = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
)

// CRUDVerbs returns the verbs of an ordinary resource (a fresh slice).
func CRUDVerbs() []string { return append([]string(nil), crudVerbs...) }

// Subresource describes one subresource of a resource (pods/status, deployments/scale, ...).
type Subresource struct {
	// Name is the path segment after the object name: status, scale, binding, eviction, log, exec.
	Name string
	// GroupVersionKind is the kind the subresource reads or writes (empty Kind for streams such as
	// log and exec, which discovery lists with the parent's kind).
	schema.GroupVersionKind
	// Verbs allowed on the subresource.
	Verbs []string
}

// FieldsFunc returns the selectable fields of an object beyond metadata.name and
// metadata.namespace, which every resource has.
type FieldsFunc func(obj runtime.Object) fields.Set

// Resource is one served resource.
type Resource struct {
	schema.GroupVersionResource
	// Singular is the lower-case singular name (pod).
	Singular string
	// Kind and ListKind name the Go types (Pod, PodList).
	Kind, ListKind string
	// Namespaced is true for namespace-scoped resources.
	Namespaced bool
	// ShortNames (po) and Categories (all) as listed in discovery.
	ShortNames, Categories []string
	// Verbs on the resource itself.
	Verbs []string
	// Subresources in discovery order.
	Subresources []Subresource
	// New and NewList return empty typed objects (an Ephemeral resource has no NewList).
	New, NewList func() runtime.Object
	// StatusSplit is true when the resource has a status subresource: writes to the main resource
	// keep the stored status and writes to /status keep the stored spec.
	StatusSplit bool
	// FieldLabels are the selectable fields beyond metadata.name and metadata.namespace, and Fields
	// computes their values.
	FieldLabels []string
	Fields      FieldsFunc
	// WatchIndex is a field of FieldLabels by whose value the API server dispatches watch
	// events: a watch whose field selector requires one value of it (spec.nodeName=NODE, every
	// kubelet's watch of pods) is sent only the changes of objects that have or had that value,
	// as kube-apiserver's cacher indexes its watchers by pods' spec.nodeName. Empty: none.
	WatchIndex string
	// StorageName is the key segment under /registry (defaults to the plural resource name).
	StorageName string
	// Ephemeral resources are not stored: the only verb is create, and the server answers it
	// with an object it computes from the request (SubjectAccessReview, TokenReview,
	// SelfSubjectReview). The API server holds the function for each.
	Ephemeral bool
	// Computed resources are not stored either: get and list (their only verbs) answer objects
	// the server computes at request time (metrics.k8s.io's NodeMetrics and PodMetrics from
	// the kubelets). The API server holds the function for each.
	Computed bool
	// Strategy holds the kind's defaulting, preparation and validation (required for stored
	// resources).
	Strategy Strategy
	// Scale reads and writes replicas for a scale subresource (nil without one).
	Scale *Scale
	// Bootstrap returns the objects the server creates at start when they are missing (the
	// system PriorityClasses, the mandatory FlowSchemas); nil for none.
	Bootstrap func() []runtime.Object
	// DeleteForbidden returns why the object of that name may not be deleted (a 403 with that
	// message, as kube-apiserver refuses a system PriorityClass), or "" when it may.
	DeleteForbidden func(name string) string
	// Table renders objects as a Table for kubectl get (nil: package tables' printers by
	// kind); custom resources print their CRD's additionalPrinterColumns.
	Table TableFunc
	// TypeConverter types the kind's objects for server-side apply and managedFields (nil:
	// the server's schema of the built-in kinds, or types deduced from the object);
	// custom resources bring their CRD's schema.
	TypeConverter managedfields.TypeConverter
	// DefaultOnRead applies the strategy's Default to every object read from storage, as
	// kube-apiserver does for custom resources: defaults a CRD gained after an object was
	// written show up when it is read.
	DefaultOnRead bool
	// TracksGeneration: the server sets metadata.generation to 1 on create and moves it on
	// every change beyond metadata and status, as kube-apiserver's strategies of workloads,
	// policies and custom resources do; of the other kinds it keeps whatever generation the
	// object was created with (requests never change it).
	TracksGeneration bool
	// Converter converts objects between this version and the storage version (nil: objects
	// are stored at the version they are written at and read at any version as they are,
	// apiVersion rewritten). Only custom resources of a CRD with the Webhook conversion
	// strategy set it.
	Converter VersionConverter
}

// TableFunc renders objects as a meta.k8s.io Table; includeObject is the request's
// includeObject (None, Metadata, Object; empty means Metadata).
type TableFunc func(objs []runtime.Object, includeObject string) (*metav1.Table, error)

// GroupVersionKind returns the resource's kind with its group and version.
func (r *Resource) GroupVersionKind() schema.GroupVersionKind {
	return r.GroupVersion().WithKind(r.Kind)
}

// ListGroupVersionKind returns the resource's list kind with its group and version.
func (r *Resource) ListGroupVersionKind() schema.GroupVersionKind {
	return r.GroupVersion().WithKind(r.ListKind)
}

// GroupResource returns the group and plural name used in errors.
func (r *Resource) GroupResource() schema.GroupResource {
	return schema.GroupResource{Group: r.Group, Resource: r.Resource}
}

// Subresource returns the named subresource, or nil when the resource has none by that name.
func (r *Resource) Subresource(name string) *Subresource {
	for i := range r.Subresources {
		if r.Subresources[i].Name == name {
			return &r.Subresources[i]
		}
	}
	return nil
}

// HasVerb reports whether verb is allowed on the main resource.
func (r *Resource) HasVerb(verb string) bool {
	for _, v := range r.Verbs {
		if v == verb {
			return true
		}
	}
	return false
}

// Storage returns the key segment of the resource under /registry.
func (r *Resource) Storage() string {
	if r.StorageName != "" {
		return r.StorageName
	}
	return r.Resource
}

// SupportsField reports whether the resource can be selected by the field label.
func (r *Resource) SupportsField(label string) bool {
	if label == "metadata.name" || label == "metadata.namespace" {
		return true
	}
	for _, f := range r.FieldLabels {
		if f == label {
			return true
		}
	}
	return false
}

// FieldSet returns every selectable field of obj, including metadata.name and metadata.namespace.
func (r *Resource) FieldSet(obj runtime.Object, name, namespace string) fields.Set {
	set := fields.Set{"metadata.name": name}
	if r.Namespaced {
		set["metadata.namespace"] = namespace
	}
	if r.Fields != nil {
		for k, v := range r.Fields(obj) {
			set[k] = v
		}
	}
	return set
}

// Registry is an immutable set of resources, looked up by group/version/resource.
type Registry struct {
	resources []*Resource
	byGVR     map[schema.GroupVersionResource]*Resource
	byGVK     map[schema.GroupVersionKind]*Resource
}

// New builds a registry; it rejects duplicate resources and kinds.
func New(resources []*Resource) (*Registry, error) {
	r := &Registry{
		byGVR: map[schema.GroupVersionResource]*Resource{},
		byGVK: map[schema.GroupVersionKind]*Resource{},
	}
	for _, res := range resources {
		if res.New == nil || (res.NewList == nil && !res.Ephemeral) {
			return nil, fmt.Errorf("resource %s: New and NewList are required (NewList but for an ephemeral resource)", res.GroupVersionResource)
		}
		if res.Strategy == nil && !res.Ephemeral && !res.Computed {
			return nil, fmt.Errorf("resource %s: a stored resource needs a Strategy", res.GroupVersionResource)
		}
		if sc, ok := res.Strategy.(ScopedStrategy); ok && sc.NamespaceScoped() != res.Namespaced {
			return nil, fmt.Errorf("resource %s: its strategy's scope does not match Namespaced=%v", res.GroupVersionResource, res.Namespaced)
		}
		if res.Subresource("scale") != nil && res.Scale == nil {
			return nil, fmt.Errorf("resource %s: a scale subresource needs Scale", res.GroupVersionResource)
		}
		if _, dup := r.byGVR[res.GroupVersionResource]; dup {
			return nil, fmt.Errorf("resource %s registered twice", res.GroupVersionResource)
		}
		if _, dup := r.byGVK[res.GroupVersionKind()]; dup {
			return nil, fmt.Errorf("kind %s registered twice", res.GroupVersionKind())
		}
		r.byGVR[res.GroupVersionResource] = res
		r.byGVK[res.GroupVersionKind()] = res
		r.resources = append(r.resources, res)
	}
	return r, nil
}

// Lookup returns the resource served at gvr, or nil.
func (r *Registry) Lookup(gvr schema.GroupVersionResource) *Resource { return r.byGVR[gvr] }

// ForKind returns the resource whose kind is gvk, or nil.
func (r *Registry) ForKind(gvk schema.GroupVersionKind) *Resource { return r.byGVK[gvk] }

// Resources returns every resource in registration order.
func (r *Registry) Resources() []*Resource { return append([]*Resource(nil), r.resources...) }

// GroupVersions returns the served group versions: the core group first, then the named
// groups sorted by name, each group's versions in order of preference.
func (r *Registry) GroupVersions() []schema.GroupVersion {
	seen := map[schema.GroupVersion]bool{}
	var out []schema.GroupVersion
	for _, res := range r.resources {
		gv := res.GroupVersion()
		if !seen[gv] {
			seen[gv] = true
			out = append(out, gv)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if (out[i].Group == "") != (out[j].Group == "") {
			return out[i].Group == ""
		}
		if out[i].Group != out[j].Group {
			return out[i].Group < out[j].Group
		}
		// Within a group, kube-apiserver's order: the preferred version first (GA before beta
		// before alpha, higher before lower: autoscaling v2, then v1).
		return version.CompareKubeAwareVersionStrings(out[i].Version, out[j].Version) > 0
	})
	return out
}

// InGroupVersion returns the resources of one group version in registration order.
func (r *Registry) InGroupVersion(gv schema.GroupVersion) []*Resource {
	var out []*Resource
	for _, res := range r.resources {
		if res.GroupVersion() == gv {
			out = append(out, res)
		}
	}
	return out
}
