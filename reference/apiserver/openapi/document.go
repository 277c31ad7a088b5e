package openapi

import (
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Resource describes one served resource for the documents.
type Resource struct {
	GroupVersionKind schema.GroupVersionKind
	Plural           string         // "pods"
	Namespaced       bool           //
	Subresources     []string       // "status", "scale", "binding", "log", "exec", "eviction"
	Object           runtime.Object // a zero value of the Go type, e.g. &corev1.Pod{}
	ListObject       runtime.Object // e.g. &corev1.PodList{}
}

// Documents holds the computed OpenAPI v3 index and per group-version
// documents. It is immutable after New and safe for concurrent use.
type Documents struct {
	index     []byte
	indexHash string
	docs      map[string]gvDocument
	// schemas are every model of the documents, for the OpenAPI v2 form.
	schemas map[string]*Schema
}

type gvDocument struct {
	body []byte
	hash string
}

// New builds every document for resources. It returns an error if a
// resource is incomplete or its Go types cannot be described.
func New(resources []Resource) (*Documents, error) {
	g := newGenerator()
	byGV := map[string]*document{}
	roots := map[string][]string{}
	seen := map[string]bool{}

	for _, r := range resources {
		gvk := r.GroupVersionKind
		if gvk.Kind == "" || gvk.Version == "" || r.Plural == "" || r.Object == nil {
			return nil, fmt.Errorf("openapi: resource %v/%q needs a kind, version, plural and object", gvk, r.Plural)
		}
		key := gvk.GroupVersion().String() + "/" + r.Plural
		if seen[key] {
			return nil, fmt.Errorf("openapi: resource %s listed twice", key)
		}
		seen[key] = true

		path := gvPath(gvk.GroupVersion())
		doc := byGV[path]
		if doc == nil {
			doc = newDocument()
			byGV[path] = doc
		}
		objModel, err := g.kindModel(r.Object, gvk)
		if err != nil {
			return nil, fmt.Errorf("openapi: %s: %w", gvk, err)
		}
		roots[path] = append(roots[path], objModel)
		listModel := ""
		if r.ListObject != nil {
			listModel, err = g.kindModel(r.ListObject, gvk.GroupVersion().WithKind(gvk.Kind+"List"))
			if err != nil {
				return nil, fmt.Errorf("openapi: %s list: %w", gvk, err)
			}
			roots[path] = append(roots[path], listModel)
		}
		extra, err := addResourcePaths(g, doc, r, objModel, listModel)
		if err != nil {
			return nil, fmt.Errorf("openapi: %s: %w", gvk, err)
		}
		roots[path] = append(roots[path], extra...)
	}

	metaModels := []string{}
	for _, obj := range []interface{}{metav1.DeleteOptions{}, metav1.Status{}} {
		name, err := g.named(reflect.TypeOf(obj))
		if err != nil {
			return nil, fmt.Errorf("openapi: %w", err)
		}
		metaModels = append(metaModels, name)
	}

	d := &Documents{docs: map[string]gvDocument{}, schemas: map[string]*Schema{}}
	for path, doc := range byGV {
		for name := range g.closure(append(roots[path], metaModels...)...) {
			doc.Components.Schemas[name] = g.schemas[name]
		}
		doc.Components.Schemas[patchModel] = &Schema{Type: "object", Description: "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body."}
		for name, s := range doc.Components.Schemas {
			d.schemas[name] = s
		}
		body, err := json.Marshal(doc)
		if err != nil {
			return nil, fmt.Errorf("openapi: encode %s: %w", path, err)
		}
		d.docs[path] = gvDocument{body: body, hash: hashOf(body)}
	}
	if err := d.reindex(); err != nil {
		return nil, err
	}
	return d, nil
}

// reindex computes the /openapi/v3 index of d.docs.
func (d *Documents) reindex() error {
	index := indexDocument{Paths: map[string]indexEntry{}}
	for path, doc := range d.docs {
		index.Paths[path] = indexEntry{ServerRelativeURL: "/openapi/v3/" + path + "?hash=" + doc.hash}
	}
	body, err := json.Marshal(index)
	if err != nil {
		return fmt.Errorf("openapi: encode index: %w", err)
	}
	d.index, d.indexHash = body, hashOf(body)
	return nil
}

// WithGroupVersions returns documents that serve d's group-versions and, besides them, each
// of extra (path such as "apis/stable.example.com/v1" → an OpenAPI v3 document): the
// group-versions of custom resources. A path d already serves keeps d's document. d is not
// changed.
func (d *Documents) WithGroupVersions(extra map[string][]byte) (*Documents, error) {
	out := &Documents{docs: make(map[string]gvDocument, len(d.docs)+len(extra)), schemas: d.schemas}
	for p, doc := range d.docs {
		out.docs[p] = doc
	}
	for p, body := range extra {
		p = strings.Trim(p, "/")
		if _, builtin := d.docs[p]; builtin {
			continue
		}
		out.docs[p] = gvDocument{body: body, hash: hashOf(body)}
	}
	if err := out.reindex(); err != nil {
		return nil, err
	}
	return out, nil
}

// Index returns the /openapi/v3 JSON: {"paths":{"api/v1":{"serverRelativeURL":...},...}}.
func (d *Documents) Index() []byte { return d.index }

// GroupVersion returns the document for path ("api/v1", "apis/apps/v1"),
// its hash (also its ETag) and whether it exists.
func (d *Documents) GroupVersion(path string) ([]byte, string, bool) {
	doc, ok := d.docs[strings.Trim(path, "/")]
	if !ok {
		return nil, "", false
	}
	return doc.body, doc.hash, true
}

// Paths lists the group-version paths served, sorted.
func (d *Documents) Paths() []string {
	out := make([]string, 0, len(d.docs))
	for p := range d.docs {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func hashOf(b []byte) string {
	sum := sha512.Sum512(b)
	return strings.ToUpper(fmt.Sprintf("%x", sum[:]))
}

func gvPath(gv schema.GroupVersion) string {
	if gv.Group == "" {
		return "api/" + gv.Version
	}
	return "apis/" + gv.Group + "/" + gv.Version
}

// kindModel generates the schema of a top-level kind and marks it with its
// group-version-kind.
func (g *generator) kindModel(obj runtime.Object, gvk schema.GroupVersionKind) (string, error) {
	t := reflect.TypeOf(obj)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	name, err := g.named(t)
	if err != nil {
		return "", err
	}
	s := g.schemas[name]
	ext := gvkExt(gvk)
	for _, e := range s.GroupVersionKinds {
		if e == ext {
			return name, nil
		}
	}
	s.GroupVersionKinds = append(s.GroupVersionKinds, ext)
	return name, nil
}

type indexDocument struct {
	Paths map[string]indexEntry `json:"paths"`
}

type indexEntry struct {
	ServerRelativeURL string `json:"serverRelativeURL"`
}

type document struct {
	OpenAPI    string               `json:"openapi"`
	Info       info                 `json:"info"`
	Paths      map[string]*pathItem `json:"paths"`
	Components components           `json:"components"`
}

type info struct {
	Title   string `json:"title"`
	Version string `json:"version"`
}

type components struct {
	Schemas map[string]*Schema `json:"schemas"`
}

type pathItem struct {
	Description string       `json:"description,omitempty"`
	Parameters  []*parameter `json:"parameters,omitempty"`
	Get         *operation   `json:"get,omitempty"`
	Put         *operation   `json:"put,omitempty"`
	Post        *operation   `json:"post,omitempty"`
	Patch       *operation   `json:"patch,omitempty"`
	Delete      *operation   `json:"delete,omitempty"`
}

type operation struct {
	Tags        []string             `json:"tags,omitempty"`
	Description string               `json:"description,omitempty"`
	OperationID string               `json:"operationId,omitempty"`
	Parameters  []*parameter         `json:"parameters,omitempty"`
	RequestBody *requestBody         `json:"requestBody,omitempty"`
	Responses   map[string]*response `json:"responses"`
	Action      string               `json:"x-kubernetes-action,omitempty"`
	GVK         *gvkExtension        `json:"x-kubernetes-group-version-kind,omitempty"`
}

type parameter struct {
	Name        string  `json:"name"`
	In          string  `json:"in"`
	Description string  `json:"description,omitempty"`
	Required    bool    `json:"required,omitempty"`
	Schema      *Schema `json:"schema,omitempty"`
}

type requestBody struct {
	Content  map[string]mediaType `json:"content"`
	Required bool                 `json:"required,omitempty"`
}

type mediaType struct {
	Schema *Schema `json:"schema,omitempty"`
}

type response struct {
	Description string               `json:"description"`
	Content     map[string]mediaType `json:"content,omitempty"`
}

func newDocument() *document {
	return &document{
		OpenAPI:    "3.0.0",
		Info:       info{Title: "Kubernetes", Version: "unversioned"},
		Paths:      map[string]*pathItem{},
		Components: components{Schemas: map[string]*Schema{}},
	}
}

const patchModel = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch"

// Patch content types a PATCH operation accepts; kubectl apply looks for the
// strategic merge one to decide it may compute a strategic merge patch.
func patchContentTypes() []string {
	return []string{
		"application/apply-patch+yaml",
		"application/json-patch+json",
		"application/merge-patch+json",
		"application/strategic-merge-patch+json",
	}
}

func jsonBody(model string) map[string]mediaType {
	return map[string]mediaType{
		"application/json": {Schema: ref(model)},
		"application/yaml": {Schema: ref(model)},
	}
}

func okResponse(model string) map[string]*response {
	return map[string]*response{"200": {Description: "OK", Content: jsonBody(model)}, "401": {Description: "Unauthorized"}}
}

func createdResponses(model string) map[string]*response {
	return map[string]*response{
		"200": {Description: "OK", Content: jsonBody(model)},
		"201": {Description: "Created", Content: jsonBody(model)},
		"202": {Description: "Accepted", Content: jsonBody(model)},
		"401": {Description: "Unauthorized"},
	}
}

func queryParam(name, typ, desc string) *parameter {
	return &parameter{Name: name, In: "query", Description: desc, Schema: &Schema{Type: typ}}
}

func pathParam(name, desc string) *parameter {
	return &parameter{Name: name, In: "path", Description: desc, Required: true, Schema: &Schema{Type: "string"}}
}

const (
	dryRunDoc          = "When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed"
	fieldManagerDoc    = "fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint."
	fieldValidationDoc = "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown fields that are silently dropped from the object, and will ignore all but the last duplicate field that the decoder encounters. - Warn: This will send a warning via the standard warning response header for each unknown field that is dropped from the object, and for each duplicate field that is encountered. The request will still succeed if there are no other errors, and will only persist the last of any duplicate fields. - Strict: This will fail the request with a BadRequest error if any unknown fields would be dropped from the object, or if any duplicate fields are present. The error returned from the server will contain all unknown and duplicate fields encountered."
	forceDoc           = "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests."
)

func writeParams() []*parameter {
	return []*parameter{
		queryParam("dryRun", "string", dryRunDoc),
		queryParam("fieldManager", "string", fieldManagerDoc),
		queryParam("fieldValidation", "string", fieldValidationDoc),
	}
}

func patchParams() []*parameter {
	return append(writeParams(), queryParam("force", "boolean", forceDoc))
}

func listParams() []*parameter {
	return []*parameter{
		queryParam("allowWatchBookmarks", "boolean", "allowWatchBookmarks requests watch events with type \"BOOKMARK\"."),
		queryParam("continue", "string", "The continue option should be set when retrieving more results from the server."),
		queryParam("fieldSelector", "string", "A selector to restrict the list of returned objects by their fields. Defaults to everything."),
		queryParam("labelSelector", "string", "A selector to restrict the list of returned objects by their labels. Defaults to everything."),
		{Name: "limit", In: "query", Description: "limit is a maximum number of responses to return for a list call.", Schema: &Schema{Type: "integer"}},
		queryParam("resourceVersion", "string", "resourceVersion sets a constraint on what resource versions a request may be served from."),
		queryParam("resourceVersionMatch", "string", "resourceVersionMatch determines how resourceVersion is applied to list calls."),
		queryParam("sendInitialEvents", "boolean", "sendInitialEvents=true may be set together with watch=true."),
		{Name: "timeoutSeconds", In: "query", Description: "Timeout for the list/watch call.", Schema: &Schema{Type: "integer"}},
		queryParam("watch", "boolean", "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications."),
	}
}

func deleteParams() []*parameter {
	return []*parameter{
		queryParam("dryRun", "string", dryRunDoc),
		{Name: "gracePeriodSeconds", In: "query", Description: "The duration in seconds before the object should be deleted.", Schema: &Schema{Type: "integer"}},
		queryParam("propagationPolicy", "string", "Whether and how garbage collection will be performed. Acceptable values are: 'Orphan', 'Background', 'Foreground'."),
	}
}

// opNames builds operation IDs and tags the way Kubernetes names them
// (patchCoreV1NamespacedPod, patchAppsV1NamespacedDeploymentScale, tag apps_v1).
type opNames struct {
	groupCamel, versionCamel, tag string
}

func namesFor(gv schema.GroupVersion) opNames {
	group := "core"
	if gv.Group != "" {
		group = strings.TrimSuffix(gv.Group, ".k8s.io")
	}
	parts := strings.Split(group, ".")
	camel := ""
	for _, p := range parts {
		camel += upperFirst(p)
	}
	tagGroup := strings.ToLower(camel[:1]) + camel[1:]
	return opNames{groupCamel: camel, versionCamel: upperFirst(gv.Version), tag: tagGroup + "_" + gv.Version}
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func (n opNames) id(verb, scope, kind, suffix string) string {
	return verb + n.groupCamel + n.versionCamel + scope + kind + suffix
}

// addResourcePaths adds the collection, item and subresource paths of r to
// doc, returning extra models the operations refer to.
func addResourcePaths(g *generator, doc *document, r Resource, objModel, listModel string) ([]string, error) {
	gvk := r.GroupVersionKind
	n := namesFor(gvk.GroupVersion())
	prefix := "/" + gvPath(gvk.GroupVersion())
	scope := ""
	var scopeParams []*parameter
	if r.Namespaced {
		prefix += "/namespaces/{namespace}"
		scope = "Namespaced"
		scopeParams = []*parameter{pathParam("namespace", "object name and auth scope, such as for teams and projects")}
	}
	collection := prefix + "/" + r.Plural
	item := collection + "/{name}"
	kindExt := gvkExt(gvk)
	pretty := queryParam("pretty", "string", "If 'true', then the output is pretty printed.")
	nameParam := pathParam("name", "name of the "+gvk.Kind)
	var extra []string

	coll := &pathItem{Parameters: append(append([]*parameter{}, scopeParams...), pretty)}
	coll.Post = &operation{
		Tags: []string{n.tag}, Description: "create " + article(gvk.Kind), OperationID: n.id("create", scope, gvk.Kind, ""),
		Parameters:  writeParams(),
		RequestBody: &requestBody{Content: jsonBody(objModel), Required: true},
		Responses:   createdResponses(objModel), Action: "post", GVK: &kindExt,
	}
	if listModel != "" {
		coll.Get = &operation{
			Tags: []string{n.tag}, Description: "list or watch objects of kind " + gvk.Kind, OperationID: n.id("list", scope, gvk.Kind, ""),
			Parameters: listParams(), Responses: okResponse(listModel), Action: "list", GVK: &kindExt,
		}
		coll.Delete = &operation{
			Tags: []string{n.tag}, Description: "delete collection of " + gvk.Kind, OperationID: n.id("delete", "Collection"+scope, gvk.Kind, ""),
			Parameters:  append(listParams(), deleteParams()...),
			RequestBody: &requestBody{Content: jsonBody("io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions")},
			Responses:   okResponse("io.k8s.apimachinery.pkg.apis.meta.v1.Status"), Action: "deletecollection", GVK: &kindExt,
		}
		if r.Namespaced {
			all := "/" + gvPath(gvk.GroupVersion()) + "/" + r.Plural
			doc.Paths[all] = &pathItem{
				Parameters: []*parameter{pretty},
				Get: &operation{
					Tags: []string{n.tag}, Description: "list or watch objects of kind " + gvk.Kind, OperationID: n.id("list", "", gvk.Kind, "ForAllNamespaces"),
					Parameters: listParams(), Responses: okResponse(listModel), Action: "list", GVK: &kindExt,
				},
			}
		}
	}
	doc.Paths[collection] = coll

	doc.Paths[item] = &pathItem{
		Parameters: append(append([]*parameter{nameParam}, scopeParams...), pretty),
		Get: &operation{
			Tags: []string{n.tag}, Description: "read the specified " + gvk.Kind, OperationID: n.id("read", scope, gvk.Kind, ""),
			Responses: okResponse(objModel), Action: "get", GVK: &kindExt,
		},
		Put: &operation{
			Tags: []string{n.tag}, Description: "replace the specified " + gvk.Kind, OperationID: n.id("replace", scope, gvk.Kind, ""),
			Parameters: writeParams(), RequestBody: &requestBody{Content: jsonBody(objModel), Required: true},
			Responses: createdResponses(objModel), Action: "put", GVK: &kindExt,
		},
		Patch: patchOperation(n, "partially update the specified "+gvk.Kind, n.id("patch", scope, gvk.Kind, ""), objModel, kindExt),
		Delete: &operation{
			Tags: []string{n.tag}, Description: "delete " + article(gvk.Kind), OperationID: n.id("delete", scope, gvk.Kind, ""),
			Parameters:  deleteParams(),
			RequestBody: &requestBody{Content: jsonBody("io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions")},
			Responses:   createdResponses(objModel), Action: "delete", GVK: &kindExt,
		},
	}

	for _, sub := range r.Subresources {
		p := &pathItem{Parameters: append(append([]*parameter{nameParam}, scopeParams...), pretty)}
		suffix := upperFirst(sub)
		switch sub {
		case "status":
			p.Get = &operation{Tags: []string{n.tag}, Description: "read status of the specified " + gvk.Kind, OperationID: n.id("read", scope, gvk.Kind, suffix),
				Responses: okResponse(objModel), Action: "get", GVK: &kindExt}
			p.Put = &operation{Tags: []string{n.tag}, Description: "replace status of the specified " + gvk.Kind, OperationID: n.id("replace", scope, gvk.Kind, suffix),
				Parameters: writeParams(), RequestBody: &requestBody{Content: jsonBody(objModel), Required: true},
				Responses: createdResponses(objModel), Action: "put", GVK: &kindExt}
			p.Patch = patchOperation(n, "partially update status of the specified "+gvk.Kind, n.id("patch", scope, gvk.Kind, suffix), objModel, kindExt)
		case "scale":
			model, err := g.kindModel(&autoscalingv1.Scale{}, autoscalingv1.SchemeGroupVersion.WithKind("Scale"))
			if err != nil {
				return nil, err
			}
			extra = append(extra, model)
			scaleExt := gvkExt(autoscalingv1.SchemeGroupVersion.WithKind("Scale"))
			p.Get = &operation{Tags: []string{n.tag}, Description: "read scale of the specified " + gvk.Kind, OperationID: n.id("read", scope, gvk.Kind, suffix),
				Responses: okResponse(model), Action: "get", GVK: &scaleExt}
			p.Put = &operation{Tags: []string{n.tag}, Description: "replace scale of the specified " + gvk.Kind, OperationID: n.id("replace", scope, gvk.Kind, suffix),
				Parameters: writeParams(), RequestBody: &requestBody{Content: jsonBody(model), Required: true},
				Responses: createdResponses(model), Action: "put", GVK: &scaleExt}
			p.Patch = patchOperation(n, "partially update scale of the specified "+gvk.Kind, n.id("patch", scope, gvk.Kind, suffix), model, scaleExt)
		case "binding", "eviction", "token":
			var obj runtime.Object = &corev1.Binding{}
			subGVK := corev1.SchemeGroupVersion.WithKind("Binding")
			switch sub {
			case "eviction":
				obj, subGVK = &policyv1.Eviction{}, policyv1.SchemeGroupVersion.WithKind("Eviction")
			case "token":
				obj, subGVK = &authenticationv1.TokenRequest{}, authenticationv1.SchemeGroupVersion.WithKind("TokenRequest")
			}
			model, err := g.kindModel(obj, subGVK)
			if err != nil {
				return nil, err
			}
			extra = append(extra, model)
			subExt := gvkExt(subGVK)
			p.Post = &operation{Tags: []string{n.tag}, Description: "create " + sub + " of " + article(gvk.Kind), OperationID: n.id("create", scope, gvk.Kind, suffix),
				Parameters: writeParams(), RequestBody: &requestBody{Content: jsonBody(model), Required: true},
				Responses: createdResponses(model), Action: "post", GVK: &subExt}
		case "log":
			p.Get = &operation{Tags: []string{n.tag}, Description: "read log of the specified " + gvk.Kind, OperationID: n.id("read", scope, gvk.Kind, suffix),
				Parameters: []*parameter{
					queryParam("container", "string", "The container for which to stream logs."),
					queryParam("follow", "boolean", "Follow the log stream of the pod."),
					queryParam("previous", "boolean", "Return previous terminated container logs."),
					{Name: "tailLines", In: "query", Description: "If set, the number of lines from the end of the logs to show.", Schema: &Schema{Type: "integer"}},
					queryParam("timestamps", "boolean", "If true, add an RFC3339 timestamp at the beginning of every line of log output."),
				},
				Responses: map[string]*response{"200": {Description: "OK", Content: map[string]mediaType{"text/plain": {Schema: &Schema{Type: "string"}}}}},
				Action:    "get"}
		case "exec", "attach", "portforward", "proxy":
			connect := func(verb string) *operation {
				return &operation{Tags: []string{n.tag}, Description: "connect " + verb + " requests to " + sub + " of " + gvk.Kind,
					OperationID: n.id("connect"+upperFirst(verb), scope, gvk.Kind, suffix),
					Responses:   map[string]*response{"200": {Description: "OK", Content: map[string]mediaType{"*/*": {Schema: &Schema{Type: "string"}}}}},
					Action:      "connect"}
			}
			p.Get, p.Post = connect("get"), connect("post")
		default:
			p.Get = &operation{Tags: []string{n.tag}, Description: "read " + sub + " of the specified " + gvk.Kind, OperationID: n.id("read", scope, gvk.Kind, suffix),
				Responses: okResponse(objModel), Action: "get"}
		}
		doc.Paths[item+"/"+sub] = p
	}
	return extra, nil
}

func patchOperation(n opNames, desc, id, model string, ext gvkExtension) *operation {
	content := map[string]mediaType{}
	for _, ct := range patchContentTypes() {
		content[ct] = mediaType{Schema: ref(patchModel)}
	}
	return &operation{
		Tags: []string{n.tag}, Description: desc, OperationID: id,
		Parameters:  patchParams(),
		RequestBody: &requestBody{Content: content, Required: true},
		Responses:   createdResponses(model),
		Action:      "patch", GVK: &ext,
	}
}

func article(kind string) string {
	if kind != "" && strings.ContainsRune("AEIOU", rune(kind[0])) {
		return "an " + kind
	}
	return "a " + kind
}
