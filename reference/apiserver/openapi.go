package apiserver

import (
	"net/http"

	"github.com/clusterkit/clusterkit/reference/apiserver/openapi"
	"github.com/clusterkit/clusterkit/reference/apiserver/registry"
)

// OpenAPIResources returns the openapi package's description of the registry's resources.
func OpenAPIResources(reg *registry.Registry) []openapi.Resource {
	var out []openapi.Resource
	for _, res := range reg.Resources() {
		r := openapi.Resource{
			GroupVersionKind: res.GroupVersionKind(),
			Plural:           res.Resource,
			Namespaced:       res.Namespaced,
			Object:           res.New(),
		}
		if res.NewList != nil && !res.Ephemeral {
			r.ListObject = res.NewList()
		}
		for _, sub := range res.Subresources {
			r.Subresources = append(r.Subresources, sub.Name)
		}
		out = append(out, r)
	}
	return out
}

// newOpenAPIHandler serves /openapi/v3 from the registry.
func newOpenAPIHandler(reg *registry.Registry) (http.Handler, error) {
	docs, err := openapi.New(OpenAPIResources(reg))
	if err != nil {
		return nil, err
	}
	return docs.Handler(), nil
}
