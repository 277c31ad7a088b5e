package apiserver

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/uuid"

	"github.com/clusterkit/clusterkit/reference/apiserver/registry"
)

// nameSuffixAlphabet is the alphabet of generated name suffixes (no vowels, no confusables), as
// Kubernetes.
const nameSuffixAlphabet = "bcdfghjklmnpqrstvwxz2456789"

func randomSuffix(n int) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(nameSuffixAlphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		b[i] = nameSuffixAlphabet[v.Int64()]
	}
	return string(b)
}

// fieldOf returns the addressable struct field name of a typed object, or an invalid Value.
func fieldOf(obj runtime.Object, name string) reflect.Value {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}
	}
	return v.Elem().FieldByName(name)
}

// copyField sets dst.name = src.name when both have the field.
func copyField(dst, src runtime.Object, name string) {
	d, s := fieldOf(dst, name), fieldOf(src, name)
	if d.IsValid() && s.IsValid() && d.CanSet() {
		d.Set(s)
	}
}

// specOf returns everything of an object except apiVersion, kind, metadata and status, as a
// generic map, to decide whether the generation moves.
func specOf(obj runtime.Object) (map[string]any, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	for _, k := range []string{"apiVersion", "kind", "metadata", "status"} {
		delete(m, k)
	}
	return m, nil
}

// specChanged reports whether anything but metadata and status differs.
func specChanged(a, b runtime.Object) bool {
	ma, err1 := specOf(a)
	mb, err2 := specOf(b)
	if err1 != nil || err2 != nil {
		return true
	}
	return !reflect.DeepEqual(ma, mb)
}

// prepareCreate fills the system fields of a new object and resets what a create may not set.
func (s *Server) prepareCreate(res *registry.Resource, obj runtime.Object) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	if m.GetResourceVersion() != "" {
		return apierrors.NewBadRequest("resourceVersion should not be set on objects to be created")
	}
	m.SetUID(uuid.NewUUID())
	m.SetCreationTimestamp(metav1.NewTime(s.now().UTC().Truncate(1e9)))
	if res.TracksGeneration {
		m.SetGeneration(1)
	}
	m.SetDeletionTimestamp(nil)
	m.SetDeletionGracePeriodSeconds(nil)
	m.SetSelfLink("")
	if !res.Namespaced {
		m.SetNamespace("")
	}
	res.Strategy.PrepareForCreate(obj)
	return nil
}

// prepareUpdate carries the system fields over from the stored object, keeps the stored status
// for resources with a status subresource (or the stored spec on a status write), and moves the
// generation when the spec changed (of resources that track it).
func prepareUpdate(res *registry.Resource, newObj, cur runtime.Object, status bool, sub string) error {
	nm, err := meta.Accessor(newObj)
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	cm, err := meta.Accessor(cur)
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	if nm.GetUID() != "" && nm.GetUID() != cm.GetUID() {
		return apierrors.NewConflict(res.GroupResource(), cm.GetName(),
			fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", nm.GetUID(), cm.GetUID()))
	}
	nm.SetUID(cm.GetUID())
	nm.SetCreationTimestamp(cm.GetCreationTimestamp())
	nm.SetDeletionTimestamp(cm.GetDeletionTimestamp())
	nm.SetDeletionGracePeriodSeconds(cm.GetDeletionGracePeriodSeconds())
	nm.SetGeneration(cm.GetGeneration())
	nm.SetSelfLink("")
	if nm.GetGenerateName() == "" {
		nm.SetGenerateName(cm.GetGenerateName())
	}
	if sp, ok := res.Strategy.(registry.SpecSubresourceStrategy); ok && status && sub != "" {
		if sp.PrepareForSpecSubresourceUpdate(sub, newObj, cur) {
			if res.TracksGeneration && specChanged(newObj, cur) {
				nm.SetGeneration(cm.GetGeneration() + 1)
			}
			return nil
		}
	}
	if status {
		copyField(newObj, cur, "Spec")
		if ss, ok := res.Strategy.(registry.SubresourceStrategy); ok && sub != "" && sub != "status" {
			ss.PrepareForSubresourceUpdate(sub, newObj, cur)
			return nil
		}
		res.Strategy.PrepareForStatusUpdate(newObj, cur)
		return nil
	}
	if res.StatusSplit {
		copyField(newObj, cur, "Status")
	}
	res.Strategy.PrepareForUpdate(newObj, cur)
	if res.TracksGeneration && specChanged(newObj, cur) {
		nm.SetGeneration(cm.GetGeneration() + 1)
	}
	return nil
}

// checkResourceVersion fails with a Conflict when rv is set and differs from the stored one.
func checkResourceVersion(res *registry.Resource, name, rv string, cur runtime.Object) error {
	if rv == "" {
		return nil
	}
	cm, err := meta.Accessor(cur)
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	if rv != cm.GetResourceVersion() {
		return apierrors.NewConflict(res.GroupResource(), name,
			fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
	}
	return nil
}

// shouldDeleteOnUpdate: an object being deleted whose last finalizer is gone (and whose grace
// period has run out) is removed by the write that cleared the finalizers.
func shouldDeleteOnUpdate(obj runtime.Object) bool {
	m, err := meta.Accessor(obj)
	if err != nil || m.GetDeletionTimestamp() == nil || len(m.GetFinalizers()) > 0 {
		return false
	}
	if ns, ok := obj.(*corev1.Namespace); ok && len(ns.Spec.Finalizers) > 0 {
		return false
	}
	g := m.GetDeletionGracePeriodSeconds()
	return g == nil || *g == 0
}

// objectMeta returns the metadata accessor of a typed object (all served objects have one).
func objectMeta(obj runtime.Object) metav1.Object {
	m, err := meta.Accessor(obj)
	if err != nil {
		panic(fmt.Sprintf("object %T has no metadata: %v", obj, err))
	}
	return m
}
