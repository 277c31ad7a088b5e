package registry

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterkit/clusterkit/reference/apiserver/tables"
	"github.com/clusterkit/clusterkit/reference/apiserver/validation"
)

// CRDResource is the resource of CustomResourceDefinitions.
var CRDResource = apiextensionsv1.SchemeGroupVersion.WithResource("customresourcedefinitions")

// apiextensionsResources serves apiextensions.k8s.io/v1 CustomResourceDefinitions (the custom
// resources they define are added to the server's registry when a CRD is established).
func apiextensionsResources() []*Resource {
	gv := apiextensionsv1.SchemeGroupVersion
	strategy := validation.CustomResourceDefinitionKind()
	return []*Resource{
		{
			GroupVersionResource: CRDResource, Singular: "customresourcedefinition",
			Kind: "CustomResourceDefinition", ListKind: "CustomResourceDefinitionList", TracksGeneration: true,
			ShortNames: []string{"crd", "crds"}, Categories: []string{"api-extensions"},
			Verbs: CRUDVerbs(), Strategy: strategy, Table: tables.CustomResourceDefinitions(strategy.Internal),
			Subresources: []Subresource{statusSub(gv.WithKind("CustomResourceDefinition"))},
			New:          func() runtime.Object { return &apiextensionsv1.CustomResourceDefinition{} },
			NewList:      func() runtime.Object { return &apiextensionsv1.CustomResourceDefinitionList{} },
			StatusSplit:  true,
		},
	}
}
