package apiserver

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"unicode"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/applyconfigurations"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	extapplyconfigurations "k8s.io/apiextensions-apiserver/pkg/client/applyconfiguration"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggapplyconfigurations "k8s.io/kube-aggregator/pkg/client/applyconfiguration"
	"sigs.k8s.io/yaml"

	"github.com/clusterkit/clusterkit/reference/apiserver/registry"
)

// Server-side apply and metadata.managedFields are k8s.io/apimachinery's field manager
// (sigs.k8s.io/structured-merge-diff underneath), as in kube-apiserver: every create, update
// and patch records which manager owns which fields, and an apply patch
// (application/apply-patch+yaml) merges the applied configuration into the live object,
// refusing to take fields another manager owns unless forced (409 Conflict). Built-in kinds
// are typed by the schema client-go's apply configurations carry; kinds the schema does not
// know (custom resources) are typed by deduction from the object.

// fieldManagers holds one field manager per resource and subresource, made on first use.
type fieldManagers struct {
	scheme *runtime.Scheme

	once    sync.Once
	typed   managedfields.TypeConverter            // client-go's schema of the built-in kinds
	byGroup map[string]managedfields.TypeConverter // groups whose schema lives in their own module

	mu       sync.Mutex
	managers map[fieldManagerKey]*managedfields.FieldManager
}

type fieldManagerKey struct {
	gvk         schema.GroupVersionKind
	subresource string
}

func newFieldManagers(scheme *runtime.Scheme) *fieldManagers {
	return &fieldManagers{scheme: scheme, managers: map[fieldManagerKey]*managedfields.FieldManager{}}
}

// get returns the field manager of res (subresource "" or "status").
func (f *fieldManagers) get(res *registry.Resource, subresource string) (*managedfields.FieldManager, error) {
	key := fieldManagerKey{gvk: res.GroupVersionKind(), subresource: subresource}
	f.mu.Lock()
	defer f.mu.Unlock()
	if m, ok := f.managers[key]; ok {
		return m, nil
	}
	f.once.Do(func() {
		f.typed = applyconfigurations.NewTypeConverter(f.scheme)
		f.byGroup = map[string]managedfields.TypeConverter{
			apiextensionsv1.GroupName:   extapplyconfigurations.NewTypeConverter(f.scheme),
			apiregistrationv1.GroupName: aggapplyconfigurations.NewTypeConverter(f.scheme),
		}
	})
	conv := sameVersion{res: res}
	var (
		m   *managedfields.FieldManager
		err error
	)
	if _, isUnstructured := res.New().(runtime.Unstructured); isUnstructured {
		typed := res.TypeConverter
		if typed == nil {
			typed = managedfields.NewDeducedTypeConverter()
		}
		m, err = managedfields.NewDefaultCRDFieldManager(typed, conv, conv, conv,
			key.gvk, key.gvk.GroupVersion(), subresource, nil)
	} else {
		typed := f.typed
		if t, ok := f.byGroup[key.gvk.Group]; ok {
			typed = t
		}
		m, err = managedfields.NewDefaultFieldManager(typed, conv, conv, conv, key.gvk, key.gvk.GroupVersion(), subresource, nil)
	}
	if err != nil {
		return nil, err
	}
	f.managers[key] = m
	return m, nil
}

// sameVersion is the object converter, defaulter and creater the field manager needs for a
// resource served at one version: conversions only set the kind (and turn the unstructured
// result of a merge back into the typed object), defaulting is the resource's strategy.
type sameVersion struct{ res *registry.Resource }

func (c sameVersion) Convert(in, out, context interface{}) error {
	return fmt.Errorf("conversion between versions of %s is not supported", c.res.GroupResource())
}

func (c sameVersion) ConvertToVersion(in runtime.Object, _ runtime.GroupVersioner) (runtime.Object, error) {
	gvk := c.res.GroupVersionKind()
	if u, ok := in.(runtime.Unstructured); ok {
		out := c.res.New()
		if _, outUnstructured := out.(runtime.Unstructured); !outUnstructured {
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.UnstructuredContent(), out); err != nil {
				return nil, err
			}
			out.GetObjectKind().SetGroupVersionKind(gvk)
			return out, nil
		}
	}
	in.GetObjectKind().SetGroupVersionKind(gvk)
	return in, nil
}

func (c sameVersion) ConvertFieldLabel(gvk schema.GroupVersionKind, label, value string) (string, string, error) {
	return label, value, nil
}

func (c sameVersion) Default(obj runtime.Object) {
	if _, ok := obj.(*unstructured.Unstructured); ok {
		if _, typedUnstructured := c.res.New().(*unstructured.Unstructured); !typedUnstructured {
			return
		}
	}
	c.res.Strategy.Default(obj)
}

func (c sameVersion) New(gvk schema.GroupVersionKind) (runtime.Object, error) {
	obj := c.res.New()
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	return obj, nil
}

// managerName is the field manager of a write: the fieldManager parameter, or the client's
// User-Agent up to its first '/' (kubectl, kube-controller-manager ...), as kube-apiserver
// names it.
func managerName(r *http.Request) string {
	if m := r.URL.Query().Get("fieldManager"); m != "" {
		return m
	}
	ua := r.UserAgent()
	if i := strings.Index(ua, "/"); i >= 0 {
		ua = ua[:i]
	}
	ua = strings.Map(func(c rune) rune {
		if unicode.IsPrint(c) {
			return c
		}
		return -1
	}, ua)
	if len(ua) > 128 {
		ua = ua[:128]
	}
	return ua
}

// trackUpdate records a non-apply write of newObj over liveObj (an empty object on create)
// in newObj's managedFields. A failure keeps the live object's managedFields.
func (s *Server) trackUpdate(res *registry.Resource, subresource string, liveObj, newObj runtime.Object, manager string) runtime.Object {
	m, err := s.fields.get(res, subresource)
	if err != nil {
		return newObj
	}
	return m.UpdateNoErrors(liveObj, newObj, manager)
}

// applyConfiguration merges an applied configuration into liveObj for manager.
func (s *Server) applyConfiguration(res *registry.Resource, subresource string, liveObj, applied runtime.Object, manager string, force bool) (runtime.Object, error) {
	m, err := s.fields.get(res, subresource)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	out, err := m.Apply(liveObj, applied, manager, force)
	if err != nil {
		if _, isStatus := err.(apierrors.APIStatus); isStatus {
			return nil, err
		}
		return nil, apierrors.NewBadRequest(err.Error())
	}
	return out, nil
}

// apiServerManager is the field manager of the server's own writes.
const apiServerManager = "kube-apiserver"

// serveApply handles a server-side apply patch (application/apply-patch+yaml): the applied
// configuration is merged into the live object for the fieldManager, or creates the object
// when it does not exist. Fields owned by another manager are a 409 Conflict unless force=true.
func (s *Server) serveApply(w http.ResponseWriter, r *http.Request, req request, status bool, patch []byte, mode string, dry bool) {
	q := r.URL.Query()
	opts := &metav1.PatchOptions{FieldManager: q.Get("fieldManager"), DryRun: q["dryRun"]}
	if f := q.Get("force"); f != "" {
		force, err := strconv.ParseBool(f)
		if err != nil {
			writeError(w, apierrors.NewBadRequest(fmt.Sprintf("invalid force %q", f)))
			return
		}
		opts.Force = &force
	}
	if errs := metav1validation.ValidatePatchOptions(opts, types.ApplyYAMLPatchType); len(errs) > 0 {
		writeError(w, apierrors.NewInvalid(metav1.SchemeGroupVersion.WithKind("PatchOptions").GroupKind(), "", errs))
		return
	}
	force := opts.Force != nil && *opts.Force
	applied, warnings, err := s.decodeApplied(req.res, patch, mode)
	if err != nil {
		writeError(w, err)
		return
	}
	if applied.GetName() != req.name {
		writeError(w, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", applied.GetName(), req.name)))
		return
	}
	if req.res.Namespaced {
		if ns := applied.GetNamespace(); ns != "" && ns != req.namespace {
			writeError(w, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request"))
			return
		}
		applied.SetNamespace(req.namespace)
	}
	sub := ""
	if status {
		sub = "status"
	}
	wo := writeOpts{dry: dry, manager: opts.FieldManager, applied: true}
	obj, err := s.update(r.Context(), req, wo, status, func(cur runtime.Object) (runtime.Object, []string, error) {
		out, err := s.applyConfiguration(req.res, sub, cur, applied.DeepCopy(), opts.FieldManager, force)
		return out, nil, err
	})
	code := http.StatusOK
	if apierrors.IsNotFound(err) && !status {
		// Apply creates what does not exist yet.
		live := req.res.New()
		live.GetObjectKind().SetGroupVersionKind(req.res.GroupVersionKind())
		lm := objectMeta(live)
		lm.SetName(req.name)
		lm.SetNamespace(req.namespace)
		var created runtime.Object
		if created, err = s.applyConfiguration(req.res, "", live, applied.DeepCopy(), opts.FieldManager, force); err == nil {
			obj, err = s.create(r.Context(), req.res, created, wo)
			code = http.StatusCreated
		}
	}
	if err != nil {
		writeError(w, err)
		return
	}
	addWarnings(w, warnings)
	s.writeObject(w, r, req.res, code, obj)
}

// decodeApplied reads an apply patch (YAML or JSON) as an unstructured object of res's kind.
// Duplicate and unknown fields are refused (Strict), reported as warnings (Warn, the
// default) or ignored, as for any other write.
func (s *Server) decodeApplied(res *registry.Resource, patch []byte, mode string) (*unstructured.Unstructured, []string, error) {
	js, err := yaml.YAMLToJSON(patch)
	if err != nil {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("error decoding YAML: %v", err))
	}
	var warnings []string
	if mode != fieldValidationIgnore {
		if _, strictErr := yaml.YAMLToJSONStrict(patch); strictErr != nil {
			if mode == fieldValidationStrict {
				return nil, nil, apierrors.NewBadRequest("strict decoding error: " + strictErr.Error())
			}
			warnings = append(warnings, strictErr.Error())
		}
		// Unknown fields of a typed kind, found by decoding into it.
		if _, typedUnstructured := res.New().(runtime.Unstructured); !typedUnstructured {
			w, err := decodeInto(js, res.New(), mode)
			if err != nil {
				return nil, nil, err
			}
			warnings = append(warnings, w...)
		}
	}
	applied := &unstructured.Unstructured{}
	if err := applied.UnmarshalJSON(js); err != nil {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("the applied configuration is not an object: %v", err))
	}
	if err := checkKind(applied, res.GroupVersionKind()); err != nil {
		return nil, nil, err
	}
	if applied.GetAPIVersion() == "" || applied.GetKind() == "" {
		return nil, nil, apierrors.NewBadRequest("apiVersion and kind are required in an apply patch")
	}
	return applied, warnings, nil
}
