package openapi

import (
	"fmt"
	"reflect"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Schema is the subset of an OpenAPI v3 schema object the documents use,
// with the Kubernetes vendor extensions.
type Schema struct {
	Ref                  string             `json:"$ref,omitempty"`
	AllOf                []*Schema          `json:"allOf,omitempty"`
	OneOf                []*Schema          `json:"oneOf,omitempty"`
	Description          string             `json:"description,omitempty"`
	Type                 string             `json:"type,omitempty"`
	Format               string             `json:"format,omitempty"`
	Properties           map[string]*Schema `json:"properties,omitempty"`
	AdditionalProperties *Schema            `json:"additionalProperties,omitempty"`
	Items                *Schema            `json:"items,omitempty"`
	Required             []string           `json:"required,omitempty"`

	GroupVersionKinds     []gvkExtension `json:"x-kubernetes-group-version-kind,omitempty"`
	PatchStrategy         string         `json:"x-kubernetes-patch-strategy,omitempty"`
	PatchMergeKey         string         `json:"x-kubernetes-patch-merge-key,omitempty"`
	PreserveUnknownFields bool           `json:"x-kubernetes-preserve-unknown-fields,omitempty"`
}

// gvkExtension is one entry of x-kubernetes-group-version-kind.
type gvkExtension struct {
	Group   string `json:"group"`
	Kind    string `json:"kind"`
	Version string `json:"version"`
}

func gvkExt(gvk schema.GroupVersionKind) gvkExtension {
	return gvkExtension{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind}
}

const schemaRefPrefix = "#/components/schemas/"

func ref(name string) *Schema { return &Schema{Ref: schemaRefPrefix + name} }

type modelNamer interface{ OpenAPIModelName() string }
type swaggerDocer interface{ SwaggerDoc() map[string]string }

// requiredFields lists the properties Kubernetes publishes as required for a
// few models. Go json tags cannot tell (a field without omitempty is not
// necessarily required), so this is a curated list, not a derived one.
func requiredFields(model string) []string {
	switch model {
	case "io.k8s.api.core.v1.PodSpec":
		return []string{"containers"}
	case "io.k8s.api.core.v1.Container", "io.k8s.api.core.v1.EphemeralContainer",
		"io.k8s.api.core.v1.EnvVar", "io.k8s.api.core.v1.Volume":
		return []string{"name"}
	case "io.k8s.api.core.v1.VolumeMount":
		return []string{"name", "mountPath"}
	case "io.k8s.api.core.v1.ContainerPort":
		return []string{"containerPort"}
	case "io.k8s.api.core.v1.ServicePort", "io.k8s.api.core.v1.EndpointPort":
		return []string{"port"}
	case "io.k8s.api.core.v1.HTTPGetAction", "io.k8s.api.core.v1.TCPSocketAction", "io.k8s.api.core.v1.GRPCAction":
		return []string{"port"}
	case "io.k8s.api.core.v1.ConfigMapKeySelector", "io.k8s.api.core.v1.SecretKeySelector":
		return []string{"key"}
	case "io.k8s.api.core.v1.KeyToPath":
		return []string{"key", "path"}
	case "io.k8s.api.core.v1.ObjectFieldSelector":
		return []string{"fieldPath"}
	case "io.k8s.api.core.v1.NodeSelectorRequirement", "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement":
		return []string{"key", "operator"}
	case "io.k8s.api.core.v1.Binding":
		return []string{"target"}
	case "io.k8s.api.core.v1.Event":
		return []string{"metadata", "involvedObject"}
	case "io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference":
		return []string{"apiVersion", "kind", "name", "uid"}
	case "io.k8s.api.apps.v1.DeploymentSpec", "io.k8s.api.apps.v1.DaemonSetSpec", "io.k8s.api.apps.v1.StatefulSetSpec":
		return []string{"selector", "template"}
	case "io.k8s.api.apps.v1.ReplicaSetSpec":
		return []string{"selector"}
	case "io.k8s.api.apps.v1.ControllerRevision":
		return []string{"revision"}
	case "io.k8s.api.batch.v1.JobSpec":
		return []string{"template"}
	case "io.k8s.api.batch.v1.CronJobSpec":
		return []string{"schedule", "jobTemplate"}
	case "io.k8s.api.discovery.v1.EndpointSlice":
		return []string{"addressType", "endpoints"}
	case "io.k8s.api.discovery.v1.Endpoint":
		return []string{"addresses"}
	}
	if strings.HasSuffix(model, "List") && strings.HasPrefix(model, "io.k8s.api.") {
		return []string{"items"}
	}
	return nil
}

// generator turns Go types into named component schemas.
type generator struct {
	// schemas holds every named model generated so far.
	schemas map[string]*Schema
	// deps records, per model, the models its schema refers to directly.
	deps map[string][]string
}

func newGenerator() *generator {
	return &generator{schemas: map[string]*Schema{}, deps: map[string][]string{}}
}

var (
	timeType      = reflect.TypeOf(metav1.Time{})
	microTimeType = reflect.TypeOf(metav1.MicroTime{})
	durationType  = reflect.TypeOf(metav1.Duration{})
	quantityType  = reflect.TypeOf(resource.Quantity{})
	intOrStrType  = reflect.TypeOf(intstr.IntOrString{})
	rawExtType    = reflect.TypeOf(runtime.RawExtension{})
	fieldsV1Type  = reflect.TypeOf(metav1.FieldsV1{})
	byteSliceType = reflect.TypeOf([]byte(nil))
)

func modelName(t reflect.Type) string {
	if t.Kind() != reflect.Struct {
		return ""
	}
	if n, ok := reflect.Zero(t).Interface().(modelNamer); ok {
		return n.OpenAPIModelName()
	}
	return ""
}

func typeDocs(t reflect.Type) map[string]string {
	if d, ok := reflect.Zero(t).Interface().(swaggerDocer); ok {
		return d.SwaggerDoc()
	}
	return nil
}

// named returns the model name of a struct type, generating its component
// schema (and those of everything it refers to) on first use.
func (g *generator) named(t reflect.Type) (string, error) {
	name := modelName(t)
	if name == "" {
		return "", fmt.Errorf("type %s has no OpenAPI model name", t)
	}
	if _, done := g.schemas[name]; done {
		return name, nil
	}
	s := &Schema{}
	g.schemas[name] = s // registered before recursing so cycles terminate
	built, deps, err := g.build(t, name)
	if err != nil {
		delete(g.schemas, name)
		return "", err
	}
	*s = *built
	g.deps[name] = deps
	return name, nil
}

// build produces the component schema of a named type.
func (g *generator) build(t reflect.Type, name string) (*Schema, []string, error) {
	desc := typeDocs(t)[""]
	switch t {
	case timeType, microTimeType:
		return &Schema{Description: desc, Type: "string", Format: "date-time"}, nil, nil
	case durationType:
		return &Schema{Description: desc, Type: "string"}, nil, nil
	case quantityType:
		return &Schema{Description: quantityDoc, OneOf: []*Schema{{Type: "string"}, {Type: "number"}}}, nil, nil
	case intOrStrType:
		return &Schema{Description: intOrStringDoc, Format: "int-or-string", OneOf: []*Schema{{Type: "integer"}, {Type: "string"}}}, nil, nil
	case rawExtType:
		return &Schema{Description: rawExtensionDoc, Type: "object"}, nil, nil
	case fieldsV1Type:
		return &Schema{Description: desc, Type: "object"}, nil, nil
	}
	s := &Schema{Description: desc, Type: "object", Properties: map[string]*Schema{}}
	var deps []string
	if err := g.addFields(s, t, &deps); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	s.Required = requiredFields(name)
	return s, deps, nil
}

// addFields adds the JSON properties of struct t to s, inlining embedded
// structs without a JSON name and ",inline" fields.
func (g *generator) addFields(s *Schema, t reflect.Type, deps *[]string) error {
	docs := typeDocs(t)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		jsonName, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if (f.Anonymous && jsonName == "") || strings.Contains(","+opts+",", ",inline,") {
			if ft.Kind() != reflect.Struct {
				return fmt.Errorf("inlined field %s is not a struct", f.Name)
			}
			if err := g.addFields(s, ft, deps); err != nil {
				return err
			}
			continue
		}
		if jsonName == "" {
			jsonName = f.Name
		}
		prop, err := g.property(f.Type, deps)
		if err != nil {
			return fmt.Errorf("field %s: %w", f.Name, err)
		}
		if d := docs[jsonName]; d != "" {
			if prop.Ref != "" {
				prop = &Schema{AllOf: []*Schema{prop}}
			}
			prop.Description = d
		}
		if ps := f.Tag.Get("patchStrategy"); ps != "" {
			prop.PatchStrategy = ps
		}
		if mk := f.Tag.Get("patchMergeKey"); mk != "" {
			prop.PatchMergeKey = mk
		}
		s.Properties[jsonName] = prop
	}
	return nil
}

// property returns the schema of a value of type t: a $ref for named
// structs, an inline schema otherwise. The result is always a fresh value the
// caller may decorate.
func (g *generator) property(t reflect.Type, deps *[]string) (*Schema, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == byteSliceType || (t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8) {
		return &Schema{Type: "string", Format: "byte"}, nil
	}
	switch t.Kind() {
	case reflect.String:
		return &Schema{Type: "string"}, nil
	case reflect.Bool:
		return &Schema{Type: "boolean"}, nil
	case reflect.Int32, reflect.Int16, reflect.Int8, reflect.Uint16, reflect.Uint8:
		return &Schema{Type: "integer", Format: "int32"}, nil
	case reflect.Int64, reflect.Int, reflect.Uint32, reflect.Uint64, reflect.Uint:
		return &Schema{Type: "integer", Format: "int64"}, nil
	case reflect.Float64:
		return &Schema{Type: "number", Format: "double"}, nil
	case reflect.Float32:
		return &Schema{Type: "number", Format: "float"}, nil
	case reflect.Interface:
		return &Schema{Type: "object", PreserveUnknownFields: true}, nil
	case reflect.Slice, reflect.Array:
		items, err := g.property(t.Elem(), deps)
		if err != nil {
			return nil, err
		}
		return &Schema{Type: "array", Items: items}, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, fmt.Errorf("map key %s is not a string", t.Key())
		}
		values, err := g.property(t.Elem(), deps)
		if err != nil {
			return nil, err
		}
		return &Schema{Type: "object", AdditionalProperties: values}, nil
	case reflect.Struct:
		if modelName(t) == "" {
			// An unnamed helper struct: describe it inline.
			s := &Schema{Type: "object", Properties: map[string]*Schema{}}
			if err := g.addFields(s, t, deps); err != nil {
				return nil, err
			}
			return s, nil
		}
		name, err := g.named(t)
		if err != nil {
			return nil, err
		}
		*deps = append(*deps, name)
		return ref(name), nil
	}
	return nil, fmt.Errorf("unsupported kind %s (%s)", t.Kind(), t)
}

// closure returns the names of the given models and of every model they
// refer to, transitively.
func (g *generator) closure(roots ...string) map[string]bool {
	seen := map[string]bool{}
	stack := append([]string(nil), roots...)
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[n] {
			continue
		}
		seen[n] = true
		stack = append(stack, g.deps[n]...)
	}
	return seen
}

const (
	quantityDoc = "Quantity is a fixed-point representation of a number. It provides convenient marshaling/unmarshaling in JSON and YAML, in addition to String() and AsInt64() accessors.\n\n" +
		"The serialization format is:\n\n```\n<quantity>        ::= <signedNumber><suffix>\n```\n\n" +
		"Examples: \"100m\" (0.1), \"1\", \"1.5\", \"128Mi\", \"1G\", \"500k\". Binary SI suffixes are Ki, Mi, Gi, Ti, Pi, Ei; decimal SI suffixes are n, u, m, \"\", k, M, G, T, P, E; decimal exponents are e and E."
	intOrStringDoc  = "IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.  This allows you to have, for example, a JSON field that can accept a name or number."
	rawExtensionDoc = "RawExtension is used to hold extensions in external versions. It holds a complete serialized object of any kind."
)
