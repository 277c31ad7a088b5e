package customresource

import (
	"context"
	"errors"
	"fmt"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/conversion"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	webhookutil "k8s.io/apiserver/pkg/util/webhook"

	"github.com/clusterkit/clusterkit/reference/apiserver/registry"
)

// WebhookReach is how the API server reaches the conversion webhooks of CRDs.
type WebhookReach struct {
	// ServiceResolver resolves a clientConfig.service to a URL (nil: its DNS name
	// NAME.NAMESPACE.svc, as k8s.io/apiserver's default resolver).
	ServiceResolver webhookutil.ServiceResolver
	// AuthWrapper wraps the webhook clients' configurations (nil: as they are); the lab
	// gives them its dialer there.
	AuthWrapper webhookutil.AuthenticationInfoResolverWrapper
}

// NewConverterFactory returns apiextensions-apiserver's converter factory for CRDs: the None
// strategy rewrites apiVersion, the Webhook strategy sends ConversionReviews to the CRD's
// webhook and checks its answers. It does not dial.
func NewConverterFactory(reach WebhookReach) (*conversion.CRConverterFactory, error) {
	resolver := reach.ServiceResolver
	if resolver == nil {
		resolver = webhookutil.NewDefaultServiceResolver()
	}
	f, err := conversion.NewCRConverterFactory(resolver, reach.AuthWrapper)
	if err != nil {
		return nil, fmt.Errorf("conversion webhooks: %w", err)
	}
	return f, nil
}

// converterFor returns the VersionConverter every served version of crd shares the
// conversion of, or nil when crd's strategy is None (its objects are then read and written
// as they are stored, apiVersion rewritten).
func (b *Builder) converterFor(crd *apiextensionsv1.CustomResourceDefinition) (runtime.ObjectConvertor, schema.GroupVersion, error) {
	c := crd.Spec.Conversion
	if c == nil || c.Strategy != apiextensionsv1.WebhookConverter {
		return nil, schema.GroupVersion{}, nil
	}
	if b.conversions == nil {
		return nil, schema.GroupVersion{}, errors.New("conversion webhooks are not configured on this server")
	}
	if c.Webhook == nil || c.Webhook.ClientConfig == nil {
		return nil, schema.GroupVersion{}, errors.New("spec.conversion.webhook.clientConfig is required for the Webhook strategy")
	}
	var storage schema.GroupVersion
	for _, v := range crd.Spec.Versions {
		if v.Storage {
			storage = schema.GroupVersion{Group: crd.Spec.Group, Version: v.Name}
		}
	}
	if storage.Version == "" {
		return nil, schema.GroupVersion{}, errors.New("no storage version")
	}
	safe, _, err := b.conversions.NewConverter(crd)
	if err != nil {
		return nil, schema.GroupVersion{}, fmt.Errorf("conversion webhook: %w", err)
	}
	return safe, storage, nil
}

// versionConverter converts the custom resources of one served version to and from the
// storage version through the CRD's converter.
type versionConverter struct {
	conv     runtime.ObjectConvertor
	version  schema.GroupVersion
	storage  schema.GroupVersion
	listKind string
}

var _ registry.ListVersionConverter = versionConverter{}

// ToStorage converts obj to the storage version. apiextensions-apiserver's webhook converter
// takes no context (it calls the webhook with its own).
func (c versionConverter) ToStorage(_ context.Context, obj runtime.Object) (runtime.Object, error) {
	return c.convert(obj, c.storage)
}

// FromStorage converts a stored obj to the entry's version.
func (c versionConverter) FromStorage(_ context.Context, obj runtime.Object) (runtime.Object, error) {
	return c.convert(obj, c.version)
}

// convert converts obj to gv; an object at gv already is returned as it is (no webhook call).
func (c versionConverter) convert(obj runtime.Object, gv schema.GroupVersion) (runtime.Object, error) {
	if obj.GetObjectKind().GroupVersionKind().GroupVersion() == gv {
		return obj, nil
	}
	return c.conv.ConvertToVersion(obj, gv)
}

// FromStorageList converts stored objects to the entry's version in one call of the webhook
// (those at the entry's version already are not sent).
func (c versionConverter) FromStorageList(_ context.Context, objs []runtime.Object) ([]runtime.Object, error) {
	list := &unstructured.UnstructuredList{Object: map[string]any{}}
	list.SetGroupVersionKind(c.version.WithKind(c.listKind))
	need := false
	for _, o := range objs {
		u, ok := o.(*unstructured.Unstructured)
		if !ok {
			return nil, fmt.Errorf("converting %T: not a custom resource", o)
		}
		need = need || u.GroupVersionKind().GroupVersion() != c.version
		list.Items = append(list.Items, *u)
	}
	if !need {
		return objs, nil
	}
	converted, err := c.conv.ConvertToVersion(list, c.version)
	if err != nil {
		return nil, err
	}
	cl, ok := converted.(*unstructured.UnstructuredList)
	if !ok || len(cl.Items) != len(objs) {
		return nil, fmt.Errorf("converting a list of %d custom resources: got %T", len(objs), converted)
	}
	out := make([]runtime.Object, len(cl.Items))
	for i := range cl.Items {
		out[i] = &cl.Items[i]
	}
	return out, nil
}
