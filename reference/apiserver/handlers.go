package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metainternalversionvalidation "k8s.io/apimachinery/pkg/apis/meta/internalversion/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/admission"

	"github.com/clusterkit/clusterkit/reference/apiserver/registry"
	"github.com/clusterkit/clusterkit/reference/apiserver/storage"
)

func invalid(res *registry.Resource, name string, errs field.ErrorList) error {
	return apierrors.NewInvalid(res.GroupVersionKind().GroupKind(), name, errs)
}

func (s *Server) serveGet(w http.ResponseWriter, r *http.Request, req request) {
	obj, err := s.getAt(r.Context(), req, r.URL.Query().Get("resourceVersion"))
	if err != nil {
		writeError(w, err)
		return
	}
	s.writeObject(w, r, req.res, http.StatusOK, obj)
}

// getAt reads the request's object for a GET with resourceVersion rv, as kube-apiserver reads
// it: "" is the newest state (a read of the store); "0" any state and N one not older than N,
// from the resource's watch cache when it has one. An N the store has not reached is 504
// "Too large resource version" (kube-apiserver's cacher answers it after waiting 3 s).
func (s *Server) getAt(ctx context.Context, req request, rv string) (runtime.Object, error) {
	if rv == "" {
		return s.objects.Get(ctx, req.res, req.namespace, req.name)
	}
	min, err := strconv.ParseInt(rv, 10, 64)
	if err != nil || min < 0 {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid resourceVersion %q: a resourceVersion is a non-negative integer", rv))
	}
	if min > 0 {
		cur, err := s.cfg.Store.CurrentRevision(ctx)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		if min > cur {
			return nil, tooLargeResourceVersion(min, cur)
		}
	}
	return s.objects.GetAt(ctx, req.res, req.namespace, req.name, min)
}

// validateListQuery checks the resourceVersion, resourceVersionMatch, continue and
// sendInitialEvents of a list or watch as kube-apiserver does (apimachinery's
// ValidateListOptions, with the WatchList feature on as in Kubernetes 1.37): a violation is a
// 422 Invalid of kind ListOptions naming the parameter.
func validateListQuery(q url.Values, isWatch bool) error {
	opts := &metainternalversion.ListOptions{
		Watch:                isWatch,
		ResourceVersion:      q.Get("resourceVersion"),
		ResourceVersionMatch: metav1.ResourceVersionMatch(q.Get("resourceVersionMatch")),
		Continue:             q.Get("continue"),
	}
	if si := q.Get("sendInitialEvents"); si != "" {
		b, err := strconv.ParseBool(si)
		if err != nil {
			return apierrors.NewBadRequest(fmt.Sprintf("invalid sendInitialEvents %q", si))
		}
		opts.SendInitialEvents = &b
	}
	if errs := metainternalversionvalidation.ValidateListOptions(opts, true); len(errs) > 0 {
		return apierrors.NewInvalid(schema.GroupKind{Group: metav1.GroupName, Kind: "ListOptions"}, "", errs)
	}
	return nil
}

// listRevision decides from resourceVersion and resourceVersionMatch (already checked by
// validateListQuery) which state a list reads: exactly the revision exact (> 0), any state at
// or after min (> 0), or (both 0) the latest.
func (s *Server) listRevision(ctx context.Context, q map[string][]string, limit int64, cont string) (exact, min int64, err error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	rv, match := get("resourceVersion"), get("resourceVersionMatch")
	if cont != "" {
		if rv != "" && rv != "0" {
			return 0, 0, apierrors.NewBadRequest("specifying resource version is not allowed when using continue")
		}
		return 0, 0, nil
	}
	n, err := storage.ParseResourceVersion(rv)
	if err != nil {
		return 0, 0, err
	}
	if n == 0 {
		if rv == "0" {
			// Any state: the watch cache's, however fresh.
			return 0, 1, nil
		}
		return 0, 0, nil
	}
	cur, err := s.cfg.Store.CurrentRevision(ctx)
	if err != nil {
		return 0, 0, apierrors.NewInternalError(err)
	}
	if n > cur {
		return 0, 0, tooLargeResourceVersion(n, cur)
	}
	if match == string(metav1.ResourceVersionMatchExact) || (match == "" && limit > 0) {
		return n, 0, nil
	}
	return 0, n, nil
}

func (s *Server) serveList(w http.ResponseWriter, r *http.Request, req request) {
	q := r.URL.Query()
	if err := validateListQuery(q, false); err != nil {
		writeError(w, err)
		return
	}
	m, err := parseMatcher(req.res, q)
	if err != nil {
		writeError(w, err)
		return
	}
	var limit int64
	if l := q.Get("limit"); l != "" {
		if limit, err = strconv.ParseInt(l, 10, 64); err != nil || limit < 0 {
			writeError(w, apierrors.NewBadRequest(fmt.Sprintf("invalid limit %q", l)))
			return
		}
	}
	cont := q.Get("continue")
	exact, min, err := s.listRevision(r.Context(), q, limit, cont)
	if err != nil {
		writeError(w, err)
		return
	}
	lr, err := s.objects.List(r.Context(), req.res, req.namespace, storage.ListOptions{
		Revision: exact, MinRevision: min, Limit: limit, Continue: cont, Filter: m.filter(), Cached: true,
	})
	if err != nil {
		writeError(w, err)
		return
	}
	lm := metav1.ListMeta{ResourceVersion: revisionString(lr.Revision), Continue: lr.Continue, RemainingItemCount: lr.Remaining}
	out, err := negotiateOutput(r.Header.Get("Accept"), req.res)
	if err != nil {
		writeError(w, err)
		return
	}
	v, err := s.render(r, req.res, out, lr.Items, true, lm)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// decodeObject reads and decodes a request body into a new object of res.
func (s *Server) decodeObject(w http.ResponseWriter, r *http.Request, res *registry.Resource) (runtime.Object, []string, error) {
	mode, err := fieldValidationMode(r)
	if err != nil {
		return nil, nil, err
	}
	data, err := s.readBody(w, r)
	if err != nil {
		return nil, nil, err
	}
	data, err = s.bodyJSON(r, data)
	if err != nil {
		return nil, nil, err
	}
	obj := res.New()
	warnings, err := decodeInto(data, obj, mode)
	if err != nil {
		return nil, nil, err
	}
	if err := checkKind(obj, res.GroupVersionKind()); err != nil {
		return nil, nil, err
	}
	if u, ok := res.Strategy.(registry.UnknownFieldsStrategy); ok && mode != fieldValidationIgnore {
		w, err := unknownFields(u.UnknownFields(obj), mode)
		if err != nil {
			return nil, nil, err
		}
		warnings = append(warnings, w...)
	}
	return obj, warnings, nil
}

// checkNamespace makes sure namespace exists and accepts new objects.
func (s *Server) checkNamespace(ctx context.Context, namespace string) error {
	nsRes := s.registry().Lookup(corev1.SchemeGroupVersion.WithResource("namespaces"))
	if nsRes == nil {
		return nil
	}
	// As kube-apiserver's NamespaceLifecycle admission: from the namespaces' cache (which has
	// every write this server acknowledged), as admission's other lookups.
	obj, _, err := s.lookup(ctx, nsRes, "", namespace)
	if err != nil {
		return err
	}
	ns := obj.(*corev1.Namespace)
	if ns.DeletionTimestamp != nil || ns.Status.Phase == corev1.NamespaceTerminating {
		e := apierrors.NewForbidden(nsRes.GroupResource(), namespace,
			fmt.Errorf("unable to create new content in namespace %s because it is being terminated", namespace))
		e.ErrStatus.Details.Causes = append(e.ErrStatus.Details.Causes, metav1.StatusCause{
			Type: "NamespaceTerminating", Field: "metadata.namespace",
			Message: fmt.Sprintf("namespace %s is being terminated", namespace),
		})
		return e
	}
	return nil
}

func (s *Server) serveCreate(w http.ResponseWriter, r *http.Request, req request) {
	obj, warnings, err := s.decodeObject(w, r, req.res)
	if err != nil {
		writeError(w, err)
		return
	}
	m := objectMeta(obj)
	if req.res.Namespaced {
		switch m.GetNamespace() {
		case "":
			m.SetNamespace(req.namespace)
		case req.namespace:
		default:
			writeError(w, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request"))
			return
		}
	}
	dry, err := dryRun(r, "CreateOptions")
	if err != nil {
		writeError(w, err)
		return
	}
	created, err := s.create(r.Context(), req.res, obj, writeOpts{dry: dry, manager: managerName(r)})
	if err != nil {
		writeError(w, err)
		return
	}
	addWarnings(w, warnings)
	s.writeObject(w, r, req.res, http.StatusCreated, created)
}

// dryRun reads the dryRun query parameter of a write whose options are of kind
// (CreateOptions, UpdateOptions, PatchOptions): true for All; any other value is rejected with
// 422 Invalid naming dryRun, as kube-apiserver does, before anything is written.
func dryRun(r *http.Request, kind string) (bool, error) {
	values := r.URL.Query()["dryRun"]
	if err := validateDryRun(kind, values); err != nil {
		return false, err
	}
	// The other option every write has: fieldManager, at most 128 printable characters.
	if errs := metav1validation.ValidateFieldManager(r.URL.Query().Get("fieldManager"), field.NewPath("fieldManager")); len(errs) > 0 {
		return false, apierrors.NewInvalid(metav1.SchemeGroupVersion.WithKind(kind).GroupKind(), "", errs)
	}
	return len(values) > 0, nil
}

// validateDryRun accepts only dryRun=All (metav1 validation's ValidateDryRun).
func validateDryRun(kind string, values []string) error {
	if errs := metav1validation.ValidateDryRun(field.NewPath("dryRun"), values); len(errs) > 0 {
		return apierrors.NewInvalid(metav1.SchemeGroupVersion.WithKind(kind).GroupKind(), "", errs)
	}
	return nil
}

// writeOpts are the options of one write.
type writeOpts struct {
	// dry is dryRun=All: everything but the write itself.
	dry bool
	// manager is the field manager the write is recorded for in managedFields.
	manager string
	// applied is set when the object is the result of a server-side apply, which recorded
	// its managed fields already.
	applied bool
}

// create runs the create path: namespace check, defaulting, system fields, managed fields,
// admission, validation, store.
func (s *Server) create(ctx context.Context, res *registry.Resource, obj runtime.Object, opts writeOpts) (runtime.Object, error) {
	dry := opts.dry
	m := objectMeta(obj)
	if res.Namespaced {
		if err := s.checkNamespace(ctx, m.GetNamespace()); err != nil {
			return nil, err
		}
	}
	res.Strategy.Default(obj)
	if err := s.prepareCreate(res, obj); err != nil {
		return nil, err
	}
	if rs, ok := res.Strategy.(registry.RequesterStrategy); ok {
		rs.PrepareForCreateBy(obj, requestUser(ctx))
	}
	if !opts.applied {
		obj = s.trackUpdate(res, "", res.New(), obj, opts.manager)
		m = objectMeta(obj)
	}
	if err := s.admitMutating(ctx, s.admissionAttributes(ctx, admission.Create, res, "", m.GetNamespace(), m.GetName(), obj, nil, dry)); err != nil {
		return nil, err
	}
	// What mutating admission (a webhook's patch) added is defaulted (and, for custom
	// resources, pruned) like the rest, as kube-apiserver decodes a patched object.
	res.Strategy.Default(obj)
	generate := m.GetName() == "" && m.GetGenerateName() != ""
	var svcTx *serviceTx
	for attempt := 0; ; attempt++ {
		if generate {
			m.SetName(m.GetGenerateName() + randomSuffix(5))
		}
		if errs := res.Strategy.Validate(obj); len(errs) > 0 {
			svcTx.rollback(ctx)
			return nil, invalid(res, m.GetName(), errs)
		}
		if attempt == 0 {
			if err := s.admitValidating(ctx, s.admissionAttributes(ctx, admission.Create, res, "", m.GetNamespace(), m.GetName(), obj, nil, dry)); err != nil {
				return nil, err
			}
		}
		if dry {
			return obj, nil
		}
		if svc, ok := obj.(*corev1.Service); ok && svcTx == nil {
			// Addresses are taken before the object is stored (see allocator.go).
			tx, err := s.allocateService(ctx, svc, nil)
			if err != nil {
				return nil, err
			}
			svcTx = tx
		}
		created, err := s.objects.Create(ctx, res, obj)
		if apierrors.IsAlreadyExists(err) && generate && attempt < 8 {
			continue
		}
		if err != nil {
			svcTx.rollback(ctx)
		}
		return created, err
	}
}

// serveUpdate handles PUT on an object or its status.
func (s *Server) serveUpdate(w http.ResponseWriter, r *http.Request, req request, status bool) {
	obj, warnings, err := s.decodeObject(w, r, req.res)
	if err != nil {
		writeError(w, err)
		return
	}
	m := objectMeta(obj)
	if m.GetName() != req.name {
		writeError(w, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", m.GetName(), req.name)))
		return
	}
	if req.res.Namespaced {
		if m.GetNamespace() == "" {
			m.SetNamespace(req.namespace)
		} else if m.GetNamespace() != req.namespace {
			writeError(w, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request"))
			return
		}
	}
	dry, err := dryRun(r, "UpdateOptions")
	if err != nil {
		writeError(w, err)
		return
	}
	res, err := s.update(r.Context(), req, writeOpts{dry: dry, manager: managerName(r)}, status, func(runtime.Object) (runtime.Object, []string, error) {
		return obj.DeepCopyObject(), nil, nil
	})
	if err != nil {
		writeError(w, err)
		return
	}
	addWarnings(w, warnings)
	s.writeObject(w, r, req.res, http.StatusOK, res)
}

// newObjectFunc produces the desired object from the current one (PUT body, patch result).
type newObjectFunc func(cur runtime.Object) (runtime.Object, []string, error)

// update runs the update path in a read-modify-write loop and returns the stored object (or the
// last state of an object the update deleted).
func (s *Server) update(ctx context.Context, req request, opts writeOpts, status bool, next newObjectFunc) (runtime.Object, error) {
	res := req.res
	dry := opts.dry
	var result runtime.Object
	var svcTx *serviceTx
	out, err := s.objects.Update(ctx, res, req.namespace, req.name, func(cur runtime.Object) (runtime.Object, error) {
		svcTx.rollback(ctx) // a retried attempt gives back what the previous one took
		svcTx = nil
		obj, _, err := next(cur.DeepCopyObject())
		if err != nil {
			return nil, err
		}
		nm := objectMeta(obj)
		if nm.GetName() != req.name {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", nm.GetName(), req.name))
		}
		if res.Namespaced && nm.GetNamespace() != req.namespace {
			return nil, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
		}
		if err := checkResourceVersion(res, req.name, nm.GetResourceVersion(), cur); err != nil {
			return nil, err
		}
		if !status {
			res.Strategy.Default(obj)
			if svc, ok := obj.(*corev1.Service); ok {
				normalizeServiceUpdate(svc, cur.(*corev1.Service))
			}
		}
		sub := ""
		if status {
			sub = "status"
			if req.sub != "" {
				sub = req.sub // a subresource on the status path (approval)
			}
		}
		if err := prepareUpdate(res, obj, cur, status, sub); err != nil {
			return nil, err
		}
		if !opts.applied {
			obj = s.trackUpdate(res, sub, cur, obj, opts.manager)
		}
		if err := s.admitMutating(ctx, s.admissionAttributes(ctx, admission.Update, res, sub, req.namespace, req.name, obj, cur, dry)); err != nil {
			return nil, err
		}
		if !status {
			res.Strategy.Default(obj) // as on create: a webhook's additions are defaulted too
		}
		var errs field.ErrorList
		specSub := false
		if sp, ok := res.Strategy.(registry.SpecSubresourceStrategy); ok && status && sub != "" {
			errs, specSub = sp.ValidateSpecSubresourceUpdate(sub, obj, cur)
		}
		if specSub {
			// validated above
		} else if status {
			errs = res.Strategy.ValidateStatusUpdate(obj, cur)
		} else {
			errs = res.Strategy.ValidateUpdate(obj, cur)
		}
		if len(errs) > 0 {
			return nil, invalid(res, req.name, errs)
		}
		if err := s.admitValidating(ctx, s.admissionAttributes(ctx, admission.Update, res, sub, req.namespace, req.name, obj, cur, dry)); err != nil {
			return nil, err
		}
		if dry {
			result = obj
			return nil, errDryRun
		}
		if shouldDeleteOnUpdate(obj) {
			return nil, storage.ErrDelete
		}
		if svc, ok := obj.(*corev1.Service); ok && !status {
			tx, err := s.allocateService(ctx, svc, cur.(*corev1.Service))
			if err != nil {
				return nil, err
			}
			svcTx = tx
		}
		return obj, nil
	})
	if errors.Is(err, errDryRun) {
		return result, nil
	}
	if err != nil {
		svcTx.rollback(ctx)
		return nil, err
	}
	if out.Deleted {
		s.serviceDeleted(ctx, out.Object)
	} else {
		svcTx.commit(ctx)
	}
	if out.Deleted && res.Resource == "namespaces" {
		s.stopNamespaceCleanup(req.name)
	}
	return out.Object, nil
}

var errDryRun = errors.New("dry run")

// deleteOptions reads DeleteOptions from the query and, if it is JSON, the body. Non-JSON
// bodies (protobuf from older clients) are ignored.
func (s *Server) deleteOptions(w http.ResponseWriter, r *http.Request) (*metav1.DeleteOptions, error) {
	opts := &metav1.DeleteOptions{}
	q := r.URL.Query()
	if g := q.Get("gracePeriodSeconds"); g != "" {
		n, err := strconv.ParseInt(g, 10, 64)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid gracePeriodSeconds %q", g))
		}
		opts.GracePeriodSeconds = &n
	}
	if p := q.Get("propagationPolicy"); p != "" {
		pp := metav1.DeletionPropagation(p)
		opts.PropagationPolicy = &pp
	}
	if o := q.Get("orphanDependents"); o != "" {
		b := o == "true"
		opts.OrphanDependents = &b
	}
	opts.DryRun = q["dryRun"]
	data, err := s.readBody(w, r)
	if err != nil {
		return nil, err
	}
	if len(data) > 0 {
		if j, err := s.bodyJSON(r, data); err == nil {
			data = j
		}
		body := &metav1.DeleteOptions{}
		if json.Unmarshal(data, body) == nil {
			if body.GracePeriodSeconds != nil {
				opts.GracePeriodSeconds = body.GracePeriodSeconds
			}
			if body.PropagationPolicy != nil {
				opts.PropagationPolicy = body.PropagationPolicy
			}
			if body.OrphanDependents != nil {
				opts.OrphanDependents = body.OrphanDependents
			}
			if body.Preconditions != nil {
				opts.Preconditions = body.Preconditions
			}
			if len(body.DryRun) > 0 {
				opts.DryRun = body.DryRun
			}
		}
	}
	if p := opts.PropagationPolicy; p != nil {
		switch *p {
		case metav1.DeletePropagationOrphan, metav1.DeletePropagationBackground, metav1.DeletePropagationForeground:
		default:
			return nil, invalidDeleteOptions(field.NotSupported(field.NewPath("propagationPolicy"), *p,
				[]string{string(metav1.DeletePropagationForeground), string(metav1.DeletePropagationBackground), string(metav1.DeletePropagationOrphan)}))
		}
		if opts.OrphanDependents != nil {
			return nil, invalidDeleteOptions(field.Invalid(field.NewPath("propagationPolicy"), *p, "orphanDependents and deletionPropagation cannot be both set"))
		}
	}
	if err := validateDryRun("DeleteOptions", opts.DryRun); err != nil {
		return nil, err
	}
	if g := opts.GracePeriodSeconds; g != nil && *g < 0 {
		zero := int64(0)
		opts.GracePeriodSeconds = &zero
	}
	return opts, nil
}

func invalidDeleteOptions(e *field.Error) error {
	return apierrors.NewInvalid(metav1.SchemeGroupVersion.WithKind("DeleteOptions").GroupKind(), "", field.ErrorList{e})
}

func (s *Server) serveDelete(w http.ResponseWriter, r *http.Request, req request) {
	opts, err := s.deleteOptions(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	if req.res.DeleteForbidden != nil {
		if why := req.res.DeleteForbidden(req.name); why != "" {
			writeError(w, apierrors.NewForbidden(req.res.GroupResource(), req.name, errors.New(why)))
			return
		}
	}
	obj, deleted, err := s.deleteObject(r.Context(), req.res, req.namespace, req.name, opts)
	if err != nil {
		writeError(w, err)
		return
	}
	s.writeDeleteResult(w, r, req.res, obj, deleted)
}

func (s *Server) writeDeleteResult(w http.ResponseWriter, r *http.Request, res *registry.Resource, obj runtime.Object, deleted bool) {
	if deleted && res.Resource != "pods" {
		m := objectMeta(obj)
		writeJSON(w, http.StatusOK, successStatus(http.StatusOK, &metav1.StatusDetails{
			Name: m.GetName(), Group: res.Group, Kind: res.Resource, UID: m.GetUID(),
		}))
		return
	}
	s.writeObject(w, r, res, http.StatusOK, obj)
}

func (s *Server) serveDeleteCollection(w http.ResponseWriter, r *http.Request, req request) {
	q := r.URL.Query()
	m, err := parseMatcher(req.res, q)
	if err != nil {
		writeError(w, err)
		return
	}
	opts, err := s.deleteOptions(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	lr, err := s.objects.List(r.Context(), req.res, req.namespace, storage.ListOptions{Filter: m.filter()})
	if err != nil {
		writeError(w, err)
		return
	}
	var items []runtime.Object
	for _, obj := range lr.Items {
		om := objectMeta(obj)
		o, _, err := s.deleteObject(r.Context(), req.res, om.GetNamespace(), om.GetName(), opts)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			writeError(w, err)
			return
		}
		items = append(items, o)
	}
	v, err := s.render(r, req.res, output{form: formObject}, items, true, metav1.ListMeta{ResourceVersion: revisionString(lr.Revision)})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// servePatch handles PATCH on an object or its status.
func (s *Server) servePatch(w http.ResponseWriter, r *http.Request, req request, status bool) {
	pt, err := patchType(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if _, custom := req.res.New().(runtime.Unstructured); custom && pt == types.StrategicMergePatchType {
		// Custom resources have no Go type to resolve a strategic merge patch against.
		writeError(w, &apierrors.StatusError{ErrStatus: metav1.Status{
			Status: metav1.StatusFailure, Code: http.StatusUnsupportedMediaType, Reason: metav1.StatusReasonUnsupportedMediaType,
			Message: fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: %s, %s",
				types.JSONPatchType, types.MergePatchType),
		}})
		return
	}
	mode, err := fieldValidationMode(r)
	if err != nil {
		writeError(w, err)
		return
	}
	patch, err := s.readBody(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	dry, err := dryRun(r, "PatchOptions")
	if err != nil {
		writeError(w, err)
		return
	}
	if pt == types.ApplyYAMLPatchType {
		s.serveApply(w, r, req, status, patch, mode, dry)
		return
	}
	var warnings []string
	obj, err := s.update(r.Context(), req, writeOpts{dry: dry, manager: managerName(r)}, status, func(cur runtime.Object) (runtime.Object, []string, error) {
		curJSON, err := json.Marshal(cur)
		if err != nil {
			return nil, nil, apierrors.NewInternalError(err)
		}
		patched, err := applyPatch(pt, curJSON, patch, req.res.New())
		if err != nil {
			return nil, nil, err
		}
		next := req.res.New()
		warnings, err = decodeInto(patched, next, mode)
		if err != nil {
			return nil, nil, err
		}
		if err := checkKind(next, req.res.GroupVersionKind()); err != nil {
			return nil, nil, err
		}
		return next, nil, nil
	})
	if err != nil {
		writeError(w, err)
		return
	}
	addWarnings(w, warnings)
	s.writeObject(w, r, req.res, http.StatusOK, obj)
}
