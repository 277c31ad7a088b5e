package openapi

import (
	"encoding/json"
	"fmt"
	"strings"

	"k8s.io/kube-openapi/pkg/validation/spec"
)

const definitionRefPrefix = "#/definitions/"

// Swagger returns the OpenAPI v2 form of the built-in documents, as /openapi/v2 serves it
// before custom resources are merged in: every model as a definition (references rewritten to
// #/definitions/), with its x-kubernetes-group-version-kind. It holds no paths: the clients of
// /openapi/v2 (kubectl explain and client-side validation of older kubectl, the
// apiextensions merge of custom resources) read definitions only. Each call builds a new
// value the caller may change.
func (d *Documents) Swagger() (*spec.Swagger, error) {
	defs := make(spec.Definitions, len(d.schemas))
	for name, s := range d.schemas {
		b, err := json.Marshal(s)
		if err != nil {
			return nil, fmt.Errorf("openapi: encode %s: %w", name, err)
		}
		var out spec.Schema
		if err := json.Unmarshal([]byte(strings.ReplaceAll(string(b), `"`+schemaRefPrefix, `"`+definitionRefPrefix)), &out); err != nil {
			return nil, fmt.Errorf("openapi: %s as OpenAPI v2: %w", name, err)
		}
		toV2(&out)
		defs[name] = out
	}
	return &spec.Swagger{SwaggerProps: spec.SwaggerProps{
		Swagger:     "2.0",
		Info:        &spec.Info{InfoProps: spec.InfoProps{Title: "Kubernetes", Version: "unversioned"}},
		Paths:       &spec.Paths{Paths: map[string]spec.PathItem{}},
		Definitions: defs,
	}}, nil
}

// toV2 removes from s what OpenAPI v2 cannot say: oneOf (IntOrString, Quantity), which v2
// publishes as a string with its format, as Kubernetes' v2 document does.
func toV2(s *spec.Schema) {
	if len(s.OneOf) > 0 {
		s.OneOf = nil
		if len(s.Type) == 0 {
			s.Type = spec.StringOrArray{"string"}
		}
	}
	for k, p := range s.Properties {
		toV2(&p)
		s.Properties[k] = p
	}
	for i := range s.AllOf {
		toV2(&s.AllOf[i])
	}
	if s.Items != nil && s.Items.Schema != nil {
		toV2(s.Items.Schema)
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
		toV2(s.AdditionalProperties.Schema)
	}
}
