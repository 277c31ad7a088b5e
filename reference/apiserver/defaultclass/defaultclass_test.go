package defaultclass

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
)

type reader map[schema.GroupVersionResource][]runtime.Object

func (r reader) Get(context.Context, schema.GroupVersionResource, string, string) (runtime.Object, error) {
	return nil, nil
}

func (r reader) List(_ context.Context, gvr schema.GroupVersionResource, _ string) ([]runtime.Object, error) {
	return r[gvr], nil
}

func class(name string, age time.Duration, def bool) *storagev1.StorageClass {
	sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(time.Unix(1e9, 0).Add(-age))}}
	if def {
		sc.Annotations = map[string]string{isDefaultStorageClass: "true"}
	}
	return sc
}

func admit(t *testing.T, p *Plugin, obj runtime.Object, gvr schema.GroupVersionResource) {
	t.Helper()
	a := admission.NewAttributesRecord(obj, nil, schema.GroupVersionKind{}, "ns", "x", gvr, "", admission.Create, &metav1.CreateOptions{}, false, nil)
	if err := p.Admit(context.Background(), a, nil); err != nil {
		t.Fatal(err)
	}
}

func TestDefaultClasses(t *testing.T) {
	p := New()
	p.SetObjectReader(reader{
		storageClasses: {class("old", time.Hour, true), class("newest", 0, true), class("plain", 0, false), class("a-tie", 0, true)},
		ingressClasses: {&networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "nginx", Annotations: map[string]string{networkingv1.AnnotationIsDefaultIngressClass: "true"}}}},
	})
	if err := p.ValidateInitialization(); err != nil {
		t.Fatal(err)
	}
	pvc := &corev1.PersistentVolumeClaim{}
	admit(t, p, pvc, claims)
	if pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != "a-tie" {
		t.Errorf("a claim without a class gets the newest default (first by name): %v", pvc.Spec.StorageClassName)
	}
	explicit := &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: new(string)}}
	admit(t, p, explicit, claims)
	if *explicit.Spec.StorageClassName != "" {
		t.Errorf("an explicit empty class is kept: %q", *explicit.Spec.StorageClassName)
	}
	ing := &networkingv1.Ingress{}
	admit(t, p, ing, ingresses)
	if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "nginx" {
		t.Errorf("an Ingress without a class gets the default: %v", ing.Spec.IngressClassName)
	}
	legacy := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{legacyIngressClass: "x"}}}
	admit(t, p, legacy, ingresses)
	if legacy.Spec.IngressClassName != nil {
		t.Errorf("an Ingress with the legacy class annotation keeps no class: %v", *legacy.Spec.IngressClassName)
	}
}
