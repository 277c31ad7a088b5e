package tables

import (
	"encoding/json"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
)

// IncludeObject values, as sent by clients in the includeObject query
// parameter of a Table request.
const (
	// IncludeMetadata embeds a PartialObjectMetadata in each row (the default).
	IncludeMetadata = string(metav1.IncludeMetadata)
	// IncludeObject embeds the whole object in each row.
	IncludeObject = string(metav1.IncludeObject)
	// IncludeNone leaves each row's object empty.
	IncludeNone = string(metav1.IncludeNone)
)

// ColumnDefinitions returns the Table columns for a kind (group/version/kind),
// with Name first (format "name") and priority 1 for wide columns. Events are
// the one exception Kubernetes makes: LAST SEEN comes first and NAME is a wide
// column. Kinds without a dedicated column set get NAME and AGE.
func ColumnDefinitions(gvk schema.GroupVersionKind) []metav1.TableColumnDefinition {
	if cols, ok := kindColumns(gvk.GroupKind()); ok {
		return cols
	}
	return defaultColumns()
}

// Rows converts objects (all of that kind) into rows; each row's Object is a
// RawExtension holding the JSON of a metav1.PartialObjectMetadata (apiVersion
// meta.k8s.io/v1, kind PartialObjectMetadata, the object's metadata). now is
// the reference time for AGE and other relative cells. List objects are
// expanded into their items.
func Rows(objs []runtime.Object, now time.Time) ([]metav1.TableRow, error) {
	return rows(schema.GroupVersionKind{}, objs, now, IncludeMetadata)
}

// Table builds a whole Table (kind Table, apiVersion meta.k8s.io/v1). The
// caller sets ListMeta (resourceVersion, continue, remainingItemCount).
func Table(gvk schema.GroupVersionKind, objs []runtime.Object, now time.Time) (*metav1.Table, error) {
	return TableWithObjects(gvk, objs, now, IncludeMetadata)
}

// TableWithObjects is Table with the includeObject policy of the request:
// "" or "Metadata" embeds PartialObjectMetadata, "Object" the whole object
// (with apiVersion and kind set from gvk), "None" nothing. Any other value is
// a BadRequest error.
func TableWithObjects(gvk schema.GroupVersionKind, objs []runtime.Object, now time.Time, includeObject string) (*metav1.Table, error) {
	r, err := rows(gvk, objs, now, includeObject)
	if err != nil {
		return nil, err
	}
	if r == nil {
		r = []metav1.TableRow{}
	}
	return &metav1.Table{
		TypeMeta:          metav1.TypeMeta{APIVersion: metav1.SchemeGroupVersion.String(), Kind: "Table"},
		ColumnDefinitions: ColumnDefinitions(gvk),
		Rows:              r,
	}, nil
}

func rows(gvk schema.GroupVersionKind, objs []runtime.Object, now time.Time, includeObject string) ([]metav1.TableRow, error) {
	switch includeObject {
	case "", IncludeMetadata, IncludeObject, IncludeNone:
	default:
		return nil, apierrors.NewBadRequest(fmt.Sprintf("includeObject %q is not one of Metadata, Object, None", includeObject))
	}
	items, err := flatten(objs)
	if err != nil {
		return nil, err
	}
	_, knownKind := kindColumns(gvk.GroupKind())
	out := make([]metav1.TableRow, 0, len(items))
	for _, obj := range items {
		typed, err := toTyped(obj)
		if err != nil {
			return nil, err
		}
		var row metav1.TableRow
		if gvk.Empty() || knownKind {
			row, err = printRow(typed, now)
		} else {
			row, err = defaultRow(typed, now)
		}
		if err != nil {
			return nil, err
		}
		raw, err := rowObject(obj, gvk, includeObject)
		if err != nil {
			return nil, err
		}
		row.Object = raw
		out = append(out, row)
	}
	return out, nil
}

// flatten expands list objects into their items.
func flatten(objs []runtime.Object) ([]runtime.Object, error) {
	out := make([]runtime.Object, 0, len(objs))
	for _, obj := range objs {
		if obj == nil {
			continue
		}
		if meta.IsListType(obj) {
			items, err := meta.ExtractList(obj)
			if err != nil {
				return nil, fmt.Errorf("extract list items: %w", err)
			}
			out = append(out, items...)
			continue
		}
		out = append(out, obj)
	}
	return out, nil
}

// toTyped converts an unstructured object of a built-in kind into its Go type,
// so it gets the kind's columns; anything else is returned unchanged.
func toTyped(obj runtime.Object) (runtime.Object, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, nil
	}
	typed, err := scheme.Scheme.New(u.GroupVersionKind())
	if err != nil {
		return obj, nil // not a built-in kind: NAME and AGE
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, typed); err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("convert %s to its Go type: %w", u.GroupVersionKind(), err))
	}
	return typed, nil
}

func rowObject(obj runtime.Object, gvk schema.GroupVersionKind, includeObject string) (runtime.RawExtension, error) {
	switch includeObject {
	case IncludeNone:
		return runtime.RawExtension{}, nil
	case IncludeObject:
		full := obj.DeepCopyObject()
		if !gvk.Empty() {
			full.GetObjectKind().SetGroupVersionKind(gvk)
		}
		raw, err := json.Marshal(full)
		if err != nil {
			return runtime.RawExtension{}, apierrors.NewInternalError(fmt.Errorf("encode row object: %w", err))
		}
		return runtime.RawExtension{Raw: raw}, nil
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return runtime.RawExtension{}, apierrors.NewInternalError(fmt.Errorf("row object metadata: %w", err))
	}
	partial := meta.AsPartialObjectMetadata(m)
	partial.TypeMeta = metav1.TypeMeta{APIVersion: metav1.SchemeGroupVersion.String(), Kind: "PartialObjectMetadata"}
	raw, err := json.Marshal(partial)
	if err != nil {
		return runtime.RawExtension{}, apierrors.NewInternalError(fmt.Errorf("encode row metadata: %w", err))
	}
	return runtime.RawExtension{Raw: raw}, nil
}

func defaultColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{nameColumn(), ageColumn()}
}

func defaultRow(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return metav1.TableRow{}, apierrors.NewInternalError(fmt.Errorf("table row for %T: %w", obj, err))
	}
	return metav1.TableRow{Cells: []interface{}{m.GetName(), age(m.GetCreationTimestamp(), now)}}, nil
}
