package apiserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	policyv1beta1 "k8s.io/api/policy/v1beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/admission"

	"github.com/clusterkit/clusterkit/reference/apiserver/registry"
	"github.com/clusterkit/clusterkit/reference/apiserver/validation"
)

var scaleGVK = autoscalingv1.SchemeGroupVersion.WithKind("Scale")

// scaleOf builds the autoscaling/v1 Scale of an object of res (which has a scale subresource).
func scaleOf(res *registry.Resource, obj runtime.Object) (*autoscalingv1.Scale, error) {
	if res.Scale == nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("%s has no scale subresource", res.GroupResource()))
	}
	replicas, statusReplicas, selector, err := res.Scale.Of(obj)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	m := objectMeta(obj)
	return &autoscalingv1.Scale{
		TypeMeta: metav1.TypeMeta{APIVersion: scaleGVK.GroupVersion().String(), Kind: scaleGVK.Kind},
		ObjectMeta: metav1.ObjectMeta{
			Name: m.GetName(), Namespace: m.GetNamespace(), UID: m.GetUID(),
			ResourceVersion: m.GetResourceVersion(), CreationTimestamp: m.GetCreationTimestamp(),
		},
		Spec:   autoscalingv1.ScaleSpec{Replicas: replicas},
		Status: autoscalingv1.ScaleStatus{Replicas: statusReplicas, Selector: selector},
	}, nil
}

// serveScale handles GET, PUT and PATCH of deployments/NAME/scale and replicasets/NAME/scale:
// only spec.replicas of the parent changes.
func (s *Server) serveScale(w http.ResponseWriter, r *http.Request, req request) {
	ctx := r.Context()
	switch r.Method {
	case http.MethodGet:
		obj, err := s.objects.Get(ctx, req.res, req.namespace, req.name)
		if err != nil {
			writeError(w, err)
			return
		}
		sc, err := scaleOf(req.res, obj)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, sc)
		return
	case http.MethodPut, http.MethodPatch:
	default:
		writeError(w, apierrors.NewMethodNotSupported(req.res.GroupResource(), r.Method))
		return
	}
	mode, err := fieldValidationMode(r)
	if err != nil {
		writeError(w, err)
		return
	}
	var pt types.PatchType
	if r.Method == http.MethodPatch {
		if pt, err = patchType(r); err != nil {
			writeError(w, err)
			return
		}
	}
	body, err := s.readBody(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	if pt == "" {
		if body, err = s.bodyJSON(r, body); err != nil {
			writeError(w, err)
			return
		}
	}
	kind := "UpdateOptions"
	if pt != "" {
		kind = "PatchOptions"
	}
	dry, err := dryRun(r, kind)
	if err != nil {
		writeError(w, err)
		return
	}
	var warnings []string
	obj, err := s.update(ctx, req, writeOpts{dry: dry, manager: managerName(r)}, false, func(cur runtime.Object) (runtime.Object, []string, error) {
		curScale, err := scaleOf(req.res, cur)
		if err != nil {
			return nil, nil, err
		}
		data := body
		if pt != "" {
			curJSON, err := json.Marshal(curScale)
			if err != nil {
				return nil, nil, apierrors.NewInternalError(err)
			}
			if data, err = applyPatch(pt, curJSON, body, &autoscalingv1.Scale{}); err != nil {
				return nil, nil, err
			}
		}
		next := &autoscalingv1.Scale{}
		if warnings, err = decodeInto(data, next, mode); err != nil {
			return nil, nil, err
		}
		if err := checkKind(next, scaleGVK); err != nil {
			return nil, nil, err
		}
		if next.Name != req.name {
			return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", next.Name, req.name))
		}
		if errs := validation.ScaleKind().ValidateUpdate(next, curScale); len(errs) > 0 {
			return nil, nil, apierrors.NewInvalid(scaleGVK.GroupKind(), req.name, errs)
		}
		if next.Spec.Replicas < 0 {
			return nil, nil, apierrors.NewInvalid(scaleGVK.GroupKind(), req.name, field.ErrorList{
				field.Invalid(field.NewPath("spec", "replicas"), next.Spec.Replicas, "must be greater than or equal to 0")})
		}
		if err := checkResourceVersion(req.res, req.name, next.ResourceVersion, cur); err != nil {
			return nil, nil, err
		}
		out := cur.DeepCopyObject()
		objectMeta(out).SetResourceVersion("")
		if err := req.res.Scale.SetReplicas(out, next.Spec.Replicas); err != nil {
			return nil, nil, apierrors.NewInternalError(err)
		}
		return out, nil, nil
	})
	if err != nil {
		writeError(w, err)
		return
	}
	sc, err := scaleOf(req.res, obj)
	if err != nil {
		writeError(w, err)
		return
	}
	addWarnings(w, warnings)
	writeJSON(w, http.StatusOK, sc)
}

// serveBinding handles POST pods/NAME/binding and the legacy POST namespaces/NS/bindings: it
// assigns the pod to the target node once.
func (s *Server) serveBinding(w http.ResponseWriter, r *http.Request, namespace, podName string) {
	mode, err := fieldValidationMode(r)
	if err != nil {
		writeError(w, err)
		return
	}
	dry, err := dryRun(r, "CreateOptions")
	if err != nil {
		writeError(w, err)
		return
	}
	data, err := s.readBody(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	if data, err = s.bodyJSON(r, data); err != nil {
		writeError(w, err)
		return
	}
	b := &corev1.Binding{}
	warnings, err := decodeInto(data, b, mode)
	if err != nil {
		writeError(w, err)
		return
	}
	if err := checkKind(b, corev1.SchemeGroupVersion.WithKind("Binding")); err != nil {
		writeError(w, err)
		return
	}
	if podName == "" {
		podName = b.Name
	}
	if b.Name == "" {
		b.Name = podName
	}
	if b.Namespace == "" {
		b.Namespace = namespace
	}
	gk := corev1.SchemeGroupVersion.WithKind("Binding").GroupKind()
	if b.Name != podName || b.Namespace != namespace {
		writeError(w, apierrors.NewBadRequest("the name and namespace of the binding must match the pod"))
		return
	}
	podRes := s.registry().Lookup(corev1.SchemeGroupVersion.WithResource("pods"))
	// Admission sees the Binding as a create of pods/binding, as kube-apiserver's binding REST:
	// the mutating plugins before validation, the validating ones (webhooks and
	// ValidatingAdmissionPolicies matching pods/binding) after it, before the pod is assigned.
	attrs := admission.NewAttributesRecord(b, nil, corev1.SchemeGroupVersion.WithKind("Binding"), namespace, podName,
		podRes.GroupVersionResource, "binding", admission.Create, &metav1.CreateOptions{}, dry, requestUser(r.Context()))
	if err := s.admitMutating(r.Context(), attrs); err != nil {
		writeError(w, err)
		return
	}
	if errs := validation.BindingKind().Validate(b); len(errs) > 0 {
		writeError(w, apierrors.NewInvalid(gk, b.Name, errs))
		return
	}
	if b.Target.Kind != "" && b.Target.Kind != "Node" {
		writeError(w, apierrors.NewInvalid(gk, b.Name, field.ErrorList{
			field.NotSupported(field.NewPath("target", "kind"), b.Target.Kind, []string{"Node", "<empty>"})}))
		return
	}
	if b.Target.Name == "" {
		writeError(w, apierrors.NewInvalid(gk, b.Name, field.ErrorList{field.Required(field.NewPath("target", "name"), "")}))
		return
	}
	if err := s.admitValidating(r.Context(), attrs); err != nil {
		writeError(w, err)
		return
	}
	assign := func(cur runtime.Object) (runtime.Object, error) {
		pod := cur.(*corev1.Pod)
		if pod.DeletionTimestamp != nil {
			return nil, apierrors.NewConflict(podRes.GroupResource(), podName, fmt.Errorf("pod %s is being deleted, cannot be assigned to a host", podName))
		}
		if b.UID != "" && b.UID != pod.UID {
			return nil, apierrors.NewConflict(podRes.GroupResource(), podName,
				fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", b.UID, pod.UID))
		}
		if pod.Spec.NodeName != "" {
			return nil, apierrors.NewConflict(podRes.GroupResource(), podName, fmt.Errorf("pod %s is already assigned to node %q", podName, pod.Spec.NodeName))
		}
		pod.Spec.NodeName = b.Target.Name
		if len(b.Annotations) > 0 {
			if pod.Annotations == nil {
				pod.Annotations = map[string]string{}
			}
			for k, v := range b.Annotations {
				pod.Annotations[k] = v
			}
		}
		setPodCondition(pod, corev1.PodCondition{
			Type: corev1.PodScheduled, Status: corev1.ConditionTrue,
			LastTransitionTime: metav1.NewTime(s.now().UTC().Truncate(time.Second)),
		})
		return pod, nil
	}
	if dry {
		// dryRun=All: every check of the assignment, nothing written.
		var cur runtime.Object
		if cur, err = s.objects.Get(r.Context(), podRes, namespace, podName); err == nil {
			_, err = assign(cur.DeepCopyObject())
		}
	} else {
		_, err = s.objects.Update(r.Context(), podRes, namespace, podName, assign)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	addWarnings(w, warnings)
	writeJSON(w, http.StatusCreated, successStatus(http.StatusCreated, nil))
}

func setPodCondition(pod *corev1.Pod, c corev1.PodCondition) {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == c.Type {
			if pod.Status.Conditions[i].Status == c.Status {
				c.LastTransitionTime = pod.Status.Conditions[i].LastTransitionTime
			}
			pod.Status.Conditions[i] = c
			return
		}
	}
	pod.Status.Conditions = append(pod.Status.Conditions, c)
}

// serveEviction handles POST pods/NAME/eviction: once the pod's PodDisruptionBudget allows it
// (admitEviction, eviction.go; 429 otherwise) the pod is deleted gracefully with the eviction's
// DeleteOptions.
func (s *Server) serveEviction(w http.ResponseWriter, r *http.Request, req request) {
	data, err := s.readBody(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	if data, err = s.bodyJSON(r, data); err != nil {
		writeError(w, err)
		return
	}
	ev := &policyv1.Eviction{}
	if _, err := decodeInto(data, ev, fieldValidationIgnore); err != nil {
		writeError(w, err)
		return
	}
	if err := checkKind(ev, policyv1.SchemeGroupVersion.WithKind("Eviction"), policyv1beta1.SchemeGroupVersion.WithKind("Eviction")); err != nil {
		writeError(w, err)
		return
	}
	if ev.Name != "" && ev.Name != req.name {
		writeError(w, apierrors.NewBadRequest("name in URL does not match name in Eviction object"))
		return
	}
	opts := ev.DeleteOptions
	if opts == nil {
		opts = &metav1.DeleteOptions{}
	}
	cur, err := s.objects.Get(r.Context(), req.res, req.namespace, req.name)
	if err != nil {
		writeError(w, err)
		return
	}
	if pod, ok := cur.(*corev1.Pod); ok {
		if err := s.admitEviction(r.Context(), pod, slices.Contains(opts.DryRun, metav1.DryRunAll)); err != nil {
			writeError(w, err)
			return
		}
	}
	if _, _, err := s.deleteObject(r.Context(), req.res, req.namespace, req.name, opts); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, successStatus(http.StatusCreated, nil))
}
