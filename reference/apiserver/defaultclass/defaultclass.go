package defaultclass

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"

	"github.com/clusterkit/clusterkit/reference/apiserver"
)

// PluginName names the plugin in errors.
const PluginName = "DefaultClass"

// Annotations marking a default class, and a claim's legacy class annotation.
const (
	isDefaultStorageClass     = "storageclass.kubernetes.io/is-default-class"
	betaIsDefaultStorageClass = "storageclass.beta.kubernetes.io/is-default-class"
	betaStorageClass          = "volume.beta.kubernetes.io/storage-class"
	legacyIngressClass        = "kubernetes.io/ingress.class"
)

var (
	claims         = corev1.SchemeGroupVersion.WithResource("persistentvolumeclaims")
	storageClasses = storagev1.SchemeGroupVersion.WithResource("storageclasses")
	ingresses      = networkingv1.SchemeGroupVersion.WithResource("ingresses")
	ingressClasses = networkingv1.SchemeGroupVersion.WithResource("ingressclasses")
)

// Plugin sets the default StorageClass of new claims and the default IngressClass of new
// Ingresses.
type Plugin struct {
	*admission.Handler
	reader apiserver.ObjectReader
}

var (
	_ admission.MutationInterface       = (*Plugin)(nil)
	_ admission.InitializationValidator = (*Plugin)(nil)
	_ apiserver.WantsObjectReader       = (*Plugin)(nil)
)

// New returns the plugin; the server hands it its object reader.
func New() *Plugin {
	return &Plugin{Handler: admission.NewHandler(admission.Create)}
}

// SetObjectReader implements apiserver.WantsObjectReader.
func (p *Plugin) SetObjectReader(r apiserver.ObjectReader) { p.reader = r }

// ValidateInitialization implements admission.InitializationValidator.
func (p *Plugin) ValidateInitialization() error {
	if p.reader == nil {
		return fmt.Errorf("%s requires an object reader", PluginName)
	}
	return nil
}

// Admit sets the class of a created claim or Ingress that names none.
func (p *Plugin) Admit(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetSubresource() != "" || a.GetOperation() != admission.Create {
		return nil
	}
	switch a.GetResource() {
	case claims:
		pvc, ok := a.GetObject().(*corev1.PersistentVolumeClaim)
		if !ok || pvc.Spec.StorageClassName != nil {
			return nil
		}
		if _, ok := pvc.Annotations[betaStorageClass]; ok {
			return nil
		}
		name, err := p.newestDefault(ctx, storageClasses, func(m metav1.Object) bool {
			return m.GetAnnotations()[isDefaultStorageClass] == "true" || m.GetAnnotations()[betaIsDefaultStorageClass] == "true"
		})
		if err != nil {
			return admission.NewForbidden(a, err)
		}
		if name != "" {
			pvc.Spec.StorageClassName = &name
		}
	case ingresses:
		ing, ok := a.GetObject().(*networkingv1.Ingress)
		if !ok || ing.Spec.IngressClassName != nil {
			return nil
		}
		if _, ok := ing.Annotations[legacyIngressClass]; ok {
			return nil
		}
		name, err := p.newestDefault(ctx, ingressClasses, func(m metav1.Object) bool {
			return m.GetAnnotations()[networkingv1.AnnotationIsDefaultIngressClass] == "true"
		})
		if err != nil {
			return admission.NewForbidden(a, err)
		}
		if name != "" {
			ing.Spec.IngressClassName = &name
		}
	}
	return nil
}

// newestDefault returns the name of the newest default class (ties: the first by name), or ""
// without one.
func (p *Plugin) newestDefault(ctx context.Context, gvr schema.GroupVersionResource, isDefault func(metav1.Object) bool) (string, error) {
	objs, err := p.reader.List(ctx, gvr, "")
	if err != nil {
		return "", fmt.Errorf("listing %s: %w", gvr.Resource, err)
	}
	var defaults []metav1.Object
	for _, obj := range objs {
		if m, err := meta.Accessor(obj); err == nil && isDefault(m) {
			defaults = append(defaults, m)
		}
	}
	if len(defaults) == 0 {
		return "", nil
	}
	sort.Slice(defaults, func(i, j int) bool {
		ti, tj := defaults[i].GetCreationTimestamp().UnixNano(), defaults[j].GetCreationTimestamp().UnixNano()
		if ti == tj {
			return defaults[i].GetName() < defaults[j].GetName()
		}
		return ti > tj
	})
	return defaults[0].GetName(), nil
}
