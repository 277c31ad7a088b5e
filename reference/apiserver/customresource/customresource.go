package customresource

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/conversion"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apiextensions-apiserver/pkg/controller/openapi/builder"
	crstrategy "k8s.io/apiextensions-apiserver/pkg/registry/customresource"
	"k8s.io/apiextensions-apiserver/pkg/registry/customresource/tableconvertor"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured/unstructuredscheme"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/kube-openapi/pkg/spec3"

	"github.com/clusterkit/clusterkit/reference/apiserver/registry"
	"github.com/clusterkit/clusterkit/reference/apiserver/validation"
)

// Builder turns CustomResourceDefinitions into registry entries.
type Builder struct {
	crds        *validation.CRDStrategy
	conversions *conversion.CRConverterFactory
}

// NewBuilder returns a Builder. conversions makes the converters of CRDs with the Webhook
// conversion strategy (NewConverterFactory); with nil such CRDs are not served.
func NewBuilder(conversions *conversion.CRConverterFactory) *Builder {
	return &Builder{crds: validation.CustomResourceDefinitionKind(), conversions: conversions}
}

// StorageName is the key segment of a CRD's custom resources under /registry, as
// kube-apiserver: GROUP/PLURAL (every version shares it).
func StorageName(crd *apiextensionsv1.CustomResourceDefinition) string {
	return crd.Spec.Group + "/" + crd.Status.AcceptedNames.Plural
}

// Resources returns one registry entry per served version of crd, named by its accepted names
// (status.acceptedNames). Every version reads and writes the same stored objects: the
// conversion strategy None only rewrites apiVersion; with the Webhook strategy objects are
// stored at the storage version and every read and write at another version is converted by
// the CRD's webhook (each entry's Converter).
func (b *Builder) Resources(crd *apiextensionsv1.CustomResourceDefinition) ([]*registry.Resource, error) {
	in, err := b.crds.Internal(crd)
	if err != nil {
		return nil, err
	}
	names := crd.Status.AcceptedNames
	if names.Plural == "" || names.Kind == "" {
		return nil, fmt.Errorf("CustomResourceDefinition %s has no accepted names", crd.Name)
	}
	listKind := names.ListKind
	if listKind == "" {
		listKind = names.Kind + "List"
	}
	namespaced := crd.Spec.Scope == apiextensionsv1.NamespaceScoped
	conv, storage, err := b.converterFor(crd)
	if err != nil {
		return nil, fmt.Errorf("CustomResourceDefinition %s: %w", crd.Name, err)
	}
	var out []*registry.Resource
	typed := b.typeConverter(crd)
	for _, v := range crd.Spec.Versions {
		if !v.Served {
			continue
		}
		gv := schema.GroupVersion{Group: crd.Spec.Group, Version: v.Name}
		res, err := b.version(crd, in, v, gv, names, listKind, namespaced)
		if err != nil {
			return nil, fmt.Errorf("CustomResourceDefinition %s version %s: %w", crd.Name, v.Name, err)
		}
		res.TypeConverter = typed
		res.DefaultOnRead = true
		if conv != nil {
			res.Converter = versionConverter{conv: conv, version: gv, storage: storage, listKind: listKind}
		}
		out = append(out, res)
	}
	return out, nil
}

func (b *Builder) version(crd *apiextensionsv1.CustomResourceDefinition, in *apiextensions.CustomResourceDefinition, v apiextensionsv1.CustomResourceDefinitionVersion,
	gv schema.GroupVersion, names apiextensionsv1.CustomResourceDefinitionNames, listKind string, namespaced bool) (*registry.Resource, error) {
	kind := gv.WithKind(names.Kind)
	listGVK := gv.WithKind(listKind)
	validationSchema, err := apiextensions.GetSchemaForVersion(in, v.Name)
	if err != nil {
		return nil, err
	}
	var openAPI *apiextensions.JSONSchemaProps
	if validationSchema != nil {
		openAPI = validationSchema.OpenAPIV3Schema
	}
	structural, err := structuralschema.NewStructural(openAPI)
	if err != nil {
		return nil, fmt.Errorf("structural schema: %w", err)
	}
	validator, _, err := apiservervalidation.NewSchemaValidator(openAPI)
	if err != nil {
		return nil, fmt.Errorf("schema validator: %w", err)
	}
	subresources, err := apiextensions.GetSubresourcesForVersion(in, v.Name)
	if err != nil {
		return nil, err
	}
	var status *apiextensions.CustomResourceSubresourceStatus
	var scale *apiextensions.CustomResourceSubresourceScale
	var statusValidator apiservervalidation.SchemaValidator
	if subresources != nil {
		status, scale = subresources.Status, subresources.Scale
	}
	if status != nil && openAPI != nil {
		if st, ok := openAPI.Properties["status"]; ok {
			if statusValidator, _, err = apiservervalidation.NewSchemaValidator(&st); err != nil {
				return nil, fmt.Errorf("status schema validator: %w", err)
			}
		}
	}
	strat := crstrategy.NewStrategy(unstructuredscheme.NewUnstructuredObjectTyper(), namespaced, kind,
		validator, statusValidator, structural, status, scale, v.SelectableFields)
	s := &strategy{kind: kind, namespaced: namespaced, structural: structural, main: strat, status: crstrategy.NewStatusStrategy(strat)}

	columns := v.AdditionalPrinterColumns
	if len(columns) == 0 {
		columns = []apiextensionsv1.CustomResourceColumnDefinition{{
			Name: "Age", Type: "date", JSONPath: ".metadata.creationTimestamp",
			Description: metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"],
		}}
	}
	table, err := tableconvertor.New(columns)
	if err != nil {
		return nil, fmt.Errorf("printer columns: %w", err)
	}

	res := &registry.Resource{
		GroupVersionResource: gv.WithResource(names.Plural),
		Singular:             names.Singular,
		Kind:                 names.Kind, ListKind: listKind,
		Namespaced: namespaced,
		ShortNames: append([]string(nil), names.ShortNames...),
		Categories: append([]string(nil), names.Categories...),
		Verbs:      registry.CRUDVerbs(),
		New: func() runtime.Object {
			u := &unstructured.Unstructured{Object: map[string]any{}}
			u.SetGroupVersionKind(kind)
			return u
		},
		NewList: func() runtime.Object {
			l := &unstructured.UnstructuredList{Object: map[string]any{}}
			l.SetGroupVersionKind(listGVK)
			return l
		},
		StorageName:      StorageName(crd),
		TracksGeneration: true,
		Strategy:         s,
		Table:            tableFunc(table),
	}
	if len(v.SelectableFields) > 0 {
		for _, f := range v.SelectableFields {
			res.FieldLabels = append(res.FieldLabels, strings.TrimPrefix(f.JSONPath, "."))
		}
		res.Fields = func(obj runtime.Object) fields.Set {
			_, set, err := strat.GetAttrs(obj)
			if err != nil {
				return fields.Set{}
			}
			return set
		}
	}
	if status != nil {
		res.StatusSplit = true
		res.Subresources = append(res.Subresources, registry.Subresource{Name: "status", GroupVersionKind: kind, Verbs: []string{"get", "patch", "update"}})
	}
	if scale != nil {
		res.Subresources = append(res.Subresources, registry.Subresource{
			Name: "scale", GroupVersionKind: schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"},
			Verbs: []string{"get", "patch", "update"},
		})
		res.Scale = scaleOf(scale)
	}
	return res, nil
}

// strategy adapts apiextensions-apiserver's custom resource strategy to the registry's, and
// adds pruning and defaulting (which kube-apiserver does while decoding).
type strategy struct {
	kind       schema.GroupVersionKind
	namespaced bool
	structural *structuralschema.Structural
	main       interface {
		PrepareForCreate(ctx context.Context, obj runtime.Object)
		PrepareForUpdate(ctx context.Context, obj, old runtime.Object)
		Validate(ctx context.Context, obj runtime.Object) field.ErrorList
		ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList
	}
	status interface {
		PrepareForUpdate(ctx context.Context, obj, old runtime.Object)
		ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList
	}
}

var (
	_ registry.ScopedStrategy        = (*strategy)(nil)
	_ registry.UnknownFieldsStrategy = (*strategy)(nil)
)

func (s *strategy) NamespaceScoped() bool { return s.namespaced }

func content(obj runtime.Object) (map[string]any, bool) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok || u == nil || u.Object == nil {
		return nil, false
	}
	return u.Object, true
}

// Default prunes the fields the schema does not know (but under
// x-kubernetes-preserve-unknown-fields, and but apiVersion, kind and metadata), then applies
// the schema's defaults.
func (s *strategy) Default(obj runtime.Object) {
	c, ok := content(obj)
	if !ok {
		return
	}
	structuralpruning.Prune(c, s.structural, true)
	structuraldefaulting.Default(c, s.structural)
}

// UnknownFields returns the paths pruning would drop from obj (obj is not changed).
func (s *strategy) UnknownFields(obj runtime.Object) []string {
	c, ok := content(obj)
	if !ok {
		return nil
	}
	cp := runtime.DeepCopyJSON(c)
	return structuralpruning.PruneWithOptions(cp, s.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
}

func (s *strategy) PrepareForCreate(obj runtime.Object) {
	if _, ok := content(obj); ok {
		s.main.PrepareForCreate(context.Background(), obj)
	}
}

func (s *strategy) PrepareForUpdate(newObj, oldObj runtime.Object) {
	_, ok1 := content(newObj)
	_, ok2 := content(oldObj)
	if ok1 && ok2 {
		s.main.PrepareForUpdate(context.Background(), newObj, oldObj)
	}
}

func (s *strategy) PrepareForStatusUpdate(newObj, oldObj runtime.Object) {
	_, ok1 := content(newObj)
	_, ok2 := content(oldObj)
	if ok1 && ok2 {
		// A /status write is pruned and defaulted as any other (kube-apiserver does it while
		// decoding); then only its status is kept.
		s.Default(newObj)
		s.status.PrepareForUpdate(context.Background(), newObj, oldObj)
	}
}

func (s *strategy) Validate(obj runtime.Object) field.ErrorList {
	return s.main.Validate(context.Background(), obj)
}

func (s *strategy) ValidateUpdate(newObj, oldObj runtime.Object) field.ErrorList {
	return s.main.ValidateUpdate(context.Background(), withResourceVersion(newObj, oldObj), oldObj)
}

func (s *strategy) ValidateStatusUpdate(newObj, oldObj runtime.Object) field.ErrorList {
	return s.status.ValidateUpdate(context.Background(), withResourceVersion(newObj, oldObj), oldObj)
}

// withResourceVersion returns newObj with the stored resourceVersion when the write carried
// none (an unconditional update, or a scale write): kube-apiserver validates the object its
// storage filled in, and ObjectMeta's update validation requires one.
func withResourceVersion(newObj, oldObj runtime.Object) runtime.Object {
	n, ok1 := newObj.(*unstructured.Unstructured)
	o, ok2 := oldObj.(*unstructured.Unstructured)
	if !ok1 || !ok2 || n == nil || o == nil || n.GetResourceVersion() != "" || o.GetResourceVersion() == "" {
		return newObj
	}
	cp := n.DeepCopy()
	cp.SetResourceVersion(o.GetResourceVersion())
	return cp
}

// jsonPath splits a CRD's simple JSON path (.spec.replicas) into fields.
func jsonPath(p string) []string {
	return strings.Split(strings.TrimPrefix(p, "."), ".")
}

// scaleOf reads and writes replicas at the CRD's specReplicasPath and statusReplicasPath, and
// the selector at labelSelectorPath (a missing value is 0, or no selector).
func scaleOf(sc *apiextensions.CustomResourceSubresourceScale) *registry.Scale {
	readInt := func(c map[string]any, path string) (int32, error) {
		v, found, err := unstructured.NestedFieldNoCopy(c, jsonPath(path)...)
		if err != nil || !found || v == nil {
			return 0, nil
		}
		switch n := v.(type) {
		case int64:
			return int32(n), nil
		case float64:
			return int32(n), nil
		case json.Number:
			i, err := n.Int64()
			return int32(i), err
		}
		return 0, fmt.Errorf("%s is not an integer", path)
	}
	return &registry.Scale{
		Of: func(obj runtime.Object) (int32, int32, string, error) {
			c, ok := content(obj)
			if !ok {
				return 0, 0, "", fmt.Errorf("scale of %T: not a custom resource", obj)
			}
			replicas, err := readInt(c, sc.SpecReplicasPath)
			if err != nil {
				return 0, 0, "", err
			}
			statusReplicas, err := readInt(c, sc.StatusReplicasPath)
			if err != nil {
				return 0, 0, "", err
			}
			selector := ""
			if sc.LabelSelectorPath != nil {
				if v, found, err := unstructured.NestedString(c, jsonPath(*sc.LabelSelectorPath)...); err == nil && found {
					selector = v
				}
			}
			return replicas, statusReplicas, selector, nil
		},
		SetReplicas: func(obj runtime.Object, n int32) error {
			c, ok := content(obj)
			if !ok {
				return fmt.Errorf("scale of %T: not a custom resource", obj)
			}
			return unstructured.SetNestedField(c, int64(n), jsonPath(sc.SpecReplicasPath)...)
		},
	}
}

// tableFunc renders custom resources with the CRD's printer columns.
func tableFunc(conv interface {
	ConvertToTable(ctx context.Context, obj runtime.Object, tableOptions runtime.Object) (*metav1.Table, error)
}) registry.TableFunc {
	return func(objs []runtime.Object, includeObject string) (*metav1.Table, error) {
		switch metav1.IncludeObjectPolicy(includeObject) {
		case "", metav1.IncludeMetadata, metav1.IncludeObject, metav1.IncludeNone:
		default:
			return nil, fmt.Errorf("includeObject %q is not one of Metadata, Object, None", includeObject)
		}
		list := &unstructured.UnstructuredList{Object: map[string]any{}}
		for _, o := range objs {
			u, ok := o.(*unstructured.Unstructured)
			if !ok {
				return nil, fmt.Errorf("table of %T: not a custom resource", o)
			}
			list.Items = append(list.Items, *u)
		}
		t, err := conv.ConvertToTable(context.Background(), list, nil)
		if err != nil {
			return nil, err
		}
		if t.Rows == nil {
			t.Rows = []metav1.TableRow{}
		}
		for i := range t.Rows {
			var raw runtime.RawExtension
			switch metav1.IncludeObjectPolicy(includeObject) {
			case metav1.IncludeNone:
			case metav1.IncludeObject:
				b, err := json.Marshal(&list.Items[i])
				if err != nil {
					return nil, err
				}
				raw.Raw = b
			default:
				m, err := meta.Accessor(&list.Items[i])
				if err != nil {
					return nil, err
				}
				partial := meta.AsPartialObjectMetadata(m)
				partial.TypeMeta = metav1.TypeMeta{APIVersion: metav1.SchemeGroupVersion.String(), Kind: "PartialObjectMetadata"}
				b, err := json.Marshal(partial)
				if err != nil {
					return nil, err
				}
				raw.Raw = b
			}
			t.Rows[i].Object = raw
		}
		return t, nil
	}
}

// typeConverter types crd's custom resources for server-side apply from its schemas, as
// kube-apiserver does (the OpenAPI models of every version, built by apiextensions-apiserver's
// builder): apply then reports fields the schema does not declare, and list-type/map-type
// extensions decide how lists merge. A CRD whose schema cannot be typed gets nil (types
// deduced from each object).
func (b *Builder) typeConverter(crd *apiextensionsv1.CustomResourceDefinition) managedfields.TypeConverter {
	var specs []*spec3.OpenAPI
	for _, v := range crd.Spec.Versions {
		s, err := builder.BuildOpenAPIV3(crd, v.Name, builder.Options{})
		if err != nil {
			return nil
		}
		specs = append(specs, s)
	}
	merged, err := builder.MergeSpecsV3(specs...)
	if err != nil || merged.Components == nil {
		return nil
	}
	tc, err := managedfields.NewTypeConverter(merged.Components.Schemas, false)
	if err != nil {
		return nil
	}
	return tc
}
