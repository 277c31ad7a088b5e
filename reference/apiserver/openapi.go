package apiserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/controller/openapi/builder"
	"k8s.io/kube-openapi/pkg/cached"
	openapihandler "k8s.io/kube-openapi/pkg/handler"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"

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

// openAPIService serves /openapi/v2 and /openapi/v3: the documents of the built-in resources,
// with those of the served custom resources merged in as kube-apiserver's apiextensions
// controllers merge them (k8s.io/apiextensions-apiserver's OpenAPI builder). Custom resource
// documents are built lazily, on the first request after their CRDs changed.
type openAPIService struct {
	base     *openapi.Documents
	v2       *openapihandler.OpenAPIService
	v2Server http.Handler
	v3       atomic.Pointer[lazyV3]

	mu  sync.Mutex // serializes setCRDs
	key string     // of the CRDs last set
}

// lazyV3 is the /openapi/v3 documents for one set of CRDs, built on first use.
type lazyV3 struct {
	once sync.Once
	crds []*apiextensionsv1.CustomResourceDefinition
	base *openapi.Documents
	docs *openapi.Documents
	err  error
}

func (l *lazyV3) get() (*openapi.Documents, error) {
	l.once.Do(func() { l.docs, l.err = buildV3(l.base, l.crds) })
	return l.docs, l.err
}

// newOpenAPIService builds the documents of the registry's (built-in) resources. It does not
// build custom resources' documents: setCRDs does.
func newOpenAPIService(reg *registry.Registry) (*openAPIService, error) {
	docs, err := openapi.New(OpenAPIResources(reg))
	if err != nil {
		return nil, err
	}
	static, err := docs.Swagger()
	if err != nil {
		return nil, err
	}
	o := &openAPIService{base: docs, v2: openapihandler.NewOpenAPIService(static)}
	mux := http.NewServeMux()
	o.v2.RegisterOpenAPIVersionedService("/openapi/v2", mux)
	o.v2Server = mux
	o.v3.Store(&lazyV3{base: docs})
	return o, nil
}

// ServeHTTP serves /openapi/v2 (JSON or protobuf, by Accept) and /openapi/v3[/<group-version>].
func (o *openAPIService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.TrimSuffix(r.URL.Path, "/") == "/openapi/v2" {
		o.v2Server.ServeHTTP(w, r)
		return
	}
	docs, err := o.v3.Load().get()
	if err != nil {
		writeError(w, fmt.Errorf("building the OpenAPI v3 documents: %w", err))
		return
	}
	docs.Handler().ServeHTTP(w, r)
}

// setCRDs makes the documents describe the served versions of crds (the established CRDs the
// registry serves) besides the built-in resources. Unchanged CRDs rebuild nothing.
func (o *openAPIService) setCRDs(crds []*apiextensionsv1.CustomResourceDefinition) {
	keys := make([]string, 0, len(crds))
	for _, c := range crds {
		keys = append(keys, fmt.Sprintf("%s/%d/%s", c.UID, c.Generation, c.ResourceVersion))
	}
	sort.Strings(keys)
	key := strings.Join(keys, ",")
	o.mu.Lock()
	defer o.mu.Unlock()
	if key == o.key {
		return
	}
	o.key = key
	crds = append([]*apiextensionsv1.CustomResourceDefinition(nil), crds...)
	o.v3.Store(&lazyV3{base: o.base, crds: crds})
	base := o.base
	o.v2.UpdateSpecLazy(cached.Once(cached.Func(func() (*spec.Swagger, string, error) {
		s, err := buildV2(base, crds)
		return s, key, err
	})))
}

// servedVersions calls fn for each served version of crd.
func servedVersions(crd *apiextensionsv1.CustomResourceDefinition, fn func(version string) error) error {
	for _, v := range crd.Spec.Versions {
		if !v.Served {
			continue
		}
		if err := fn(v.Name); err != nil {
			return fmt.Errorf("OpenAPI of CustomResourceDefinition %s version %s: %w", crd.Name, v.Name, err)
		}
	}
	return nil
}

func buildV3(base *openapi.Documents, crds []*apiextensionsv1.CustomResourceDefinition) (*openapi.Documents, error) {
	byPath := map[string][]*spec3.OpenAPI{}
	for _, crd := range crds {
		built := map[string]*spec3.OpenAPI{}
		err := servedVersions(crd, func(version string) error {
			doc, err := builder.BuildOpenAPIV3(crd, version, builder.Options{IncludeSelectableFields: true})
			built["apis/"+crd.Spec.Group+"/"+version] = doc
			return err
		})
		if err != nil {
			continue // as kube-apiserver: a CRD whose schema cannot be published is left out
		}
		for path, doc := range built {
			byPath[path] = append(byPath[path], doc)
		}
	}
	extra := make(map[string][]byte, len(byPath))
	for path, docs := range byPath {
		merged, err := builder.MergeSpecsV3(docs...)
		if err != nil {
			return nil, fmt.Errorf("merging the OpenAPI of %s: %w", path, err)
		}
		body, err := json.Marshal(merged)
		if err != nil {
			return nil, fmt.Errorf("encoding the OpenAPI of %s: %w", path, err)
		}
		extra[path] = body
	}
	return base.WithGroupVersions(extra)
}

func buildV2(base *openapi.Documents, crds []*apiextensionsv1.CustomResourceDefinition) (*spec.Swagger, error) {
	static, err := base.Swagger()
	if err != nil {
		return nil, err
	}
	var specs []*spec.Swagger
	for _, crd := range crds {
		var built []*spec.Swagger
		err := servedVersions(crd, func(version string) error {
			s, err := builder.BuildOpenAPIV2(crd, version, builder.Options{V2: true, IncludeSelectableFields: true})
			if err != nil {
				return err
			}
			// As kube-apiserver: defaults are pruned so the CRD's models merge cleanly.
			s.Definitions = openapihandler.PruneDefaults(s.Definitions)
			built = append(built, s)
			return nil
		})
		if err != nil {
			continue // as kube-apiserver: a CRD whose schema cannot be published is left out
		}
		specs = append(specs, built...)
	}
	return builder.MergeSpecs(static, specs...)
}
