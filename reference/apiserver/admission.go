package apiserver

import (
	"context"
	"fmt"
	"reflect"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"

	"github.com/clusterkit/clusterkit/reference/apiserver/registry"
	"github.com/clusterkit/clusterkit/reference/apiserver/storage"
)

// Admission plugins (k8s.io/apiserver/pkg/admission) run on every create, update and delete of
// a stored resource, as in kube-apiserver: a plugin implementing admission.MutationInterface
// runs after defaulting and before validation and may change the object; one implementing
// admission.ValidationInterface runs after validation and before the write and may only refuse
// it. Config.Admission is usually an admission.NewChainHandler of several plugins (Pod
// Security, NodeRestriction, ServiceAccount ...); nil admits everything. A plugin that reads
// objects implements WantsObjectReader (direct reads of the storage) or k8s.io/apiserver's
// initializer.WantsExternalKubeClientSet (the server's loopback client) and gets it from New,
// also inside an admission.NewChainHandler chain.

// WantsObjectReader is implemented by admission plugins that read stored objects straight from
// the server's storage (cheaper than the loopback client; Pod Security reads the namespace of
// every pod written).
type WantsObjectReader interface {
	SetObjectReader(ObjectReader)
}

// ObjectReader reads stored objects of the served resources.
type ObjectReader interface {
	// Get reads one object; a missing one is a NotFound error.
	Get(ctx context.Context, gvr schema.GroupVersionResource, namespace, name string) (runtime.Object, error)
	// List reads every object of a resource in namespace (every namespace when empty).
	List(ctx context.Context, gvr schema.GroupVersionResource, namespace string) ([]runtime.Object, error)
}

type objectReader struct{ s *Server }

func (r objectReader) resource(gvr schema.GroupVersionResource) (*registry.Resource, error) {
	res := r.s.registry().Lookup(gvr)
	if res == nil {
		return nil, apierrors.NewNotFound(gvr.GroupResource(), "")
	}
	return res, nil
}

// lookupCached are the resources admission plugins look up by name on many writes (every
// pod's namespace, ServiceAccount, PriorityClass, RuntimeClass, LimitRanges, a kubelet's
// Node) and which are few and change seldom: such reads are answered from a storage.Cache,
// as kube-apiserver's admission plugins read them from informers, with the store read only
// for objects the cache does not know. ResourceQuotas are always read from the store (usage
// must be exact) and pods too (the cache would double the memory they take).
var lookupCached = map[schema.GroupResource]bool{
	{Resource: "namespaces"}:                                  true,
	{Resource: "serviceaccounts"}:                             true,
	{Resource: "limitranges"}:                                 true,
	{Resource: "nodes"}:                                       true,
	{Group: "scheduling.k8s.io", Resource: "priorityclasses"}: true,
	{Group: "node.k8s.io", Resource: "runtimeclasses"}:        true,
}

func (r objectReader) Get(ctx context.Context, gvr schema.GroupVersionResource, namespace, name string) (runtime.Object, error) {
	res, err := r.resource(gvr)
	if err != nil {
		return nil, err
	}
	obj, shared, err := r.s.lookup(ctx, res, namespace, name)
	if shared {
		obj = obj.DeepCopyObject()
	}
	return obj, err
}

// lookup reads one object that admission depends on: from res's cache when res is one of
// lookupCached and the cache holds the object (shared true: the cache's own object, not to be
// modified), else from the store.
func (s *Server) lookup(ctx context.Context, res *registry.Resource, namespace, name string) (obj runtime.Object, shared bool, err error) {
	if lookupCached[res.GroupResource()] {
		if obj, found, _ := s.objects.Cache(res).Get(namespace, name); found {
			return obj, true, nil
		}
	}
	obj, err = s.objects.Get(ctx, res, namespace, name)
	return obj, false, err
}

func (r objectReader) List(ctx context.Context, gvr schema.GroupVersionResource, namespace string) ([]runtime.Object, error) {
	res, err := r.resource(gvr)
	if err != nil {
		return nil, err
	}
	lr, err := r.s.objects.List(ctx, res, namespace, storage.ListOptions{})
	if err != nil {
		return nil, err
	}
	return lr.Items, nil
}

// initAdmission hands the loopback client to every plugin that wants one and checks that each
// plugin is ready (admission.InitializationValidator).
func (s *Server) initAdmission(plugin admission.Interface) error {
	if plugin == nil {
		return nil
	}
	// admission.NewChainHandler's chain is a slice of plugins: initialise each member.
	if v := reflect.ValueOf(plugin); v.Kind() == reflect.Slice {
		for i := range v.Len() {
			if member, ok := v.Index(i).Interface().(admission.Interface); ok {
				if err := s.initAdmission(member); err != nil {
					return err
				}
			}
		}
		return nil
	}
	// A plugin wrapping another (interface{ Unwrap() admission.Interface }) initialises it.
	if u, ok := plugin.(interface{ Unwrap() admission.Interface }); ok {
		return s.initAdmission(u.Unwrap())
	}
	if w, ok := plugin.(WantsObjectReader); ok {
		w.SetObjectReader(objectReader{s})
	} else if w, ok := plugin.(initializer.WantsExternalKubeClientSet); ok {
		client, err := s.loopbackClient()
		if err != nil {
			return fmt.Errorf("admission: loopback client: %w", err)
		}
		w.SetExternalKubeClientSet(client)
	}
	if v, ok := plugin.(admission.InitializationValidator); ok {
		if err := v.ValidateInitialization(); err != nil {
			return fmt.Errorf("admission: %w", err)
		}
	}
	return nil
}

// admissionAttributes describes one write for the admission plugins.
func (s *Server) admissionAttributes(ctx context.Context, op admission.Operation, res *registry.Resource, sub, namespace, name string, obj, old runtime.Object, dry bool) admission.Attributes {
	var opts runtime.Object
	switch op {
	case admission.Create:
		opts = &metav1.CreateOptions{}
	case admission.Update:
		opts = &metav1.UpdateOptions{}
	case admission.Delete:
		opts = &metav1.DeleteOptions{}
	}
	return admission.NewAttributesRecord(obj, old, res.GroupVersionKind(), namespace, name,
		res.GroupVersionResource, sub, op, opts, dry, requestUser(ctx))
}

// admitMutating runs the mutating plugins on a write.
func (s *Server) admitMutating(ctx context.Context, a admission.Attributes) error {
	m, ok := s.cfg.Admission.(admission.MutationInterface)
	if !ok || !m.Handles(a.GetOperation()) {
		return nil
	}
	return m.Admit(ctx, a, s.objectInterfaces)
}

// admitValidating runs the validating plugins on a write.
func (s *Server) admitValidating(ctx context.Context, a admission.Attributes) error {
	v, ok := s.cfg.Admission.(admission.ValidationInterface)
	if !ok || !v.Handles(a.GetOperation()) {
		return nil
	}
	return v.Validate(ctx, a, s.objectInterfaces)
}
