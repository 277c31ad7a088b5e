package tables

import (
	"context"
	"fmt"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	crdtables "k8s.io/apiextensions-apiserver/pkg/registry/customresourcedefinition/tableconvertor"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// CustomResourceDefinitions returns the Table function of CustomResourceDefinitions, as
// kube-apiserver prints them (apiextensions-apiserver's convertor: Name, Scope, Versions,
// Created At; wide: Group, Kind, ShortNames, Established). internal converts a v1 CRD to the
// internal type the convertor reads.
func CustomResourceDefinitions(internal func(*apiextensionsv1.CustomResourceDefinition) (*apiextensions.CustomResourceDefinition, error)) func(objs []runtime.Object, includeObject string) (*metav1.Table, error) {
	conv := crdtables.New()
	gvk := apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition")
	return func(objs []runtime.Object, includeObject string) (*metav1.Table, error) {
		switch includeObject {
		case "", IncludeMetadata, IncludeObject, IncludeNone:
		default:
			return nil, apierrors.NewBadRequest(fmt.Sprintf("includeObject %q is not one of Metadata, Object, None", includeObject))
		}
		items, err := flatten(objs)
		if err != nil {
			return nil, err
		}
		list := &apiextensions.CustomResourceDefinitionList{}
		for _, o := range items {
			crd, ok := o.(*apiextensionsv1.CustomResourceDefinition)
			if !ok {
				return nil, apierrors.NewInternalError(fmt.Errorf("table of %T: not a CustomResourceDefinition", o))
			}
			in, err := internal(crd)
			if err != nil {
				return nil, apierrors.NewInternalError(err)
			}
			list.Items = append(list.Items, *in)
		}
		t, err := conv.ConvertToTable(context.Background(), list, nil)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		if t.Rows == nil {
			t.Rows = []metav1.TableRow{}
		}
		for i := range t.Rows {
			if t.Rows[i].Object, err = rowObject(items[i], gvk, includeObject); err != nil {
				return nil, err
			}
		}
		t.ResourceVersion = ""
		return t, nil
	}
}
