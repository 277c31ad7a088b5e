package conformance

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/onsi/gomega"
	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Sources of the admission behaviours.
const (
	srcDynamicAdmission = "Kubernetes: Dynamic Admission Control (kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers)"
	srcAdmissionOrder   = "Kubernetes: Admission Control in Kubernetes (kubernetes.io/docs/reference/access-authn-authz/admission-controllers): mutating admission runs before validating admission"
	srcVAP              = "Kubernetes: Validating Admission Policy (kubernetes.io/docs/reference/access-authn-authz/validating-admission-policy)"
	srcMAP              = "Kubernetes: Mutating Admission Policy (kubernetes.io/docs/reference/access-authn-authz/mutating-admission-policy)"
	srcWebhookAPI       = "Kubernetes API: admissionregistration.k8s.io/v1 ValidatingWebhookConfiguration (pkg/apis/admissionregistration/v1 defaults and validation)"
)

// admissionSpecs are the auth behaviours of admission webhooks and policies.
func admissionSpecs() []spec[*authEnv] {
	return []spec[*authEnv]{
		{auth("auth.admission.webhook-defaults", "a ValidatingWebhookConfiguration created without them MUST get failurePolicy Fail, matchPolicy Equivalent, timeoutSeconds 10, empty namespaceSelector and objectSelector and rule scope *", srcWebhookAPI), specWebhookDefaults},
		{auth("auth.admission.webhook-required-fields", "a ValidatingWebhookConfiguration whose webhook has no sideEffects, no admissionReviewVersions and a name that is not fully qualified MUST be rejected with 422 naming each field", srcWebhookAPI), specWebhookRequiredFields},
		{authNeeds(auth("auth.admission.validating-denies", "a write a validating webhook denies MUST be rejected with the webhook's message and not be stored", srcDynamicAdmission), DynamicAdmission), specValidatingWebhookDenies},
		{authNeeds(auth("auth.admission.connect-denied", "a validating webhook registered for CONNECT on pods/attach MUST be sent the request's PodAttachOptions and its denial MUST reject the attach with 403 and the webhook's message", srcDynamicAdmission), DynamicAdmission), specConnectDenied},
		{authNeeds(auth("auth.admission.mutating-patch-stored", "a mutating webhook's JSON patch MUST be applied to the object that is stored", srcDynamicAdmission), DynamicAdmission), specMutatingWebhookPatchStored},
		{authNeeds(auth("auth.admission.mutating-before-validating", "validating webhooks MUST see the object as mutating webhooks changed it (mutating admission runs first)", srcAdmissionOrder), DynamicAdmission), specMutatingBeforeValidating},
		{authNeeds(auth("auth.admission.failure-policy-fail", "a write matched by an unreachable webhook with failurePolicy Fail MUST be rejected and not be stored", srcDynamicAdmission), DynamicAdmission), specFailurePolicyFail},
		{authNeeds(auth("auth.admission.failure-policy-ignore", "a write matched by an unreachable webhook with failurePolicy Ignore MUST be admitted", srcDynamicAdmission), DynamicAdmission), specFailurePolicyIgnore},
		{authNeeds(auth("auth.admission.namespace-selector", "a webhook MUST NOT be sent requests for objects in namespaces its namespaceSelector does not select", srcDynamicAdmission), DynamicAdmission), specNamespaceSelector},
		{authNeeds(auth("auth.admission.object-selector", "a webhook MUST be sent requests only for objects whose labels its objectSelector selects", srcDynamicAdmission), DynamicAdmission), specObjectSelector},
		{authNeeds(auth("auth.admission.dry-run", "a dryRun=All write MUST reach a webhook with sideEffects None with request.dryRun true and store nothing", srcDynamicAdmission), DynamicAdmission), specWebhookDryRun},
		{authNeeds(auth("auth.admission.mutating-policy-patch", "a MutatingAdmissionPolicy's JSONPatch mutation, through a binding, MUST be applied to the object that is stored", srcMAP), DynamicAdmission), specMutatingPolicyPatch},
		{authNeeds(auth("auth.admission.policy-denies", "a write a ValidatingAdmissionPolicy's validation fails, through a binding with validationActions Deny, MUST be rejected with the validation's message", srcVAP), DynamicAdmission), specPolicyDenies},
	}
}

// admissionConfigMap is a ConfigMap with labels and data.
func admissionConfigMap(name string, labels, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Data: data}
}

// fullWebhookURL is a syntactically valid webhook URL nothing has to answer.
const fullWebhookURL = "https://127.0.0.1:1/never-called"

func specWebhookDefaults(ctx context.Context, g gomega.Gomega, e *authEnv) {
	name := e.ns + "-defaults"
	created, err := e.admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:         "defaults.conformance.clusterkit.dev",
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: ptr.To(fullWebhookURL)},
			// No namespace carries this label: the webhook is never called.
			NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{admissionSpecLabel: "none"}},
			Rules:                   configMapRule(),
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
		}},
	}, metav1.CreateOptions{})
	ok(g, err, "creating a ValidatingWebhookConfiguration")
	e.c.Cleanup(func() {
		_ = e.admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	got, err := e.admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{})
	ok(g, err, "reading it back")
	for _, c := range []*admissionregistrationv1.ValidatingWebhookConfiguration{created, got} {
		g.Expect(c.Webhooks).To(gomega.HaveLen(1))
		h := c.Webhooks[0]
		g.Expect(h.FailurePolicy).To(gomega.HaveValue(gomega.Equal(admissionregistrationv1.Fail)), "failurePolicy")
		g.Expect(h.MatchPolicy).To(gomega.HaveValue(gomega.Equal(admissionregistrationv1.Equivalent)), "matchPolicy")
		g.Expect(h.TimeoutSeconds).To(gomega.HaveValue(gomega.Equal(int32(10))), "timeoutSeconds")
		g.Expect(h.ObjectSelector).To(gomega.HaveValue(gomega.Equal(metav1.LabelSelector{})), "objectSelector")
		g.Expect(h.Rules[0].Scope).To(gomega.HaveValue(gomega.Equal(admissionregistrationv1.AllScopes)), "rules[0].scope")
	}
}

func specWebhookRequiredFields(ctx context.Context, g gomega.Gomega, e *authEnv) {
	_, err := e.admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: e.ns + "-invalid"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:         "not-qualified",
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: ptr.To(fullWebhookURL)},
			Rules:        configMapRule(),
		}},
	}, metav1.CreateOptions{})
	g.Expect(apierrors.IsInvalid(err)).To(gomega.BeTrue(), "want 422 Invalid, got %v", err)
	causes := fieldsOf(err)
	for _, f := range []string{"webhooks[0].name", "webhooks[0].sideEffects", "webhooks[0].admissionReviewVersions"} {
		g.Expect(causes).To(gomega.ContainElement(f), "the 422 names %s", f)
	}
}

// fieldsOf returns the fields an Invalid error names.
func fieldsOf(err error) []string {
	var out []string
	if s, ok := err.(apierrors.APIStatus); ok && s.Status().Details != nil {
		for _, c := range s.Status().Details.Causes {
			out = append(out, c.Field)
		}
	}
	return out
}

// denyMessage is what the spec's denying webhook answers.
const denyMessage = "clusterkit conformance webhook says no"

func specValidatingWebhookDenies(ctx context.Context, g gomega.Gomega, e *authEnv) {
	sel := admissionNamespace(ctx, g, e)
	w, err := startWebhook(e, func(req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
		if isMarker(req) {
			return allow()
		}
		return deny(denyMessage)
	})
	ok(g, err, "starting the webhook")
	createValidatingConfig(ctx, g, e, validatingHook("deny.conformance.clusterkit.dev", w, "/deny", sel))
	awaitWebhook(ctx, g, e, w)
	_, err = e.admin.CoreV1().ConfigMaps(e.ns).Create(ctx, admissionConfigMap("denied", nil, nil), metav1.CreateOptions{})
	g.Expect(err).To(gomega.HaveOccurred(), "the denied create succeeded")
	g.Expect(err.Error()).To(gomega.ContainSubstring(denyMessage), "the error carries the webhook's message")
	g.Expect(apierrors.IsForbidden(err)).To(gomega.BeTrue(), "the webhook's 403 reaches the client: %v", err)
	_, err = e.admin.CoreV1().ConfigMaps(e.ns).Get(ctx, "denied", metav1.GetOptions{})
	g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "the denied ConfigMap was stored: %v", err)
}

func specConnectDenied(ctx context.Context, g gomega.Gomega, e *authEnv) {
	sel := admissionNamespace(ctx, g, e)
	const msg = "attaching is not allowed by the conformance webhook"
	w, err := startWebhook(e, func(req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
		if req.Operation == admissionv1.Connect && req.SubResource == "attach" && req.Kind.Kind == "PodAttachOptions" {
			return deny(msg)
		}
		return allow()
	})
	ok(g, err, "starting the webhook")
	hook := validatingHook("deny-attach.conformance.clusterkit.dev", w, "/deny-attach", sel)
	hook.Rules = append(hook.Rules, admissionregistrationv1.RuleWithOperations{
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Connect},
		Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods/attach"}},
	})
	createValidatingConfig(ctx, g, e, hook)
	awaitWebhook(ctx, g, e, w)
	// Kubernetes admits a CONNECT before it looks at the pod: the pod need not exist.
	err = e.admin.CoreV1().RESTClient().Post().Namespace(e.ns).Resource("pods").Name("attach-target").SubResource("attach").
		Param("container", "app").Param("stdout", "true").Do(ctx).Error()
	g.Expect(err).To(gomega.HaveOccurred(), "the attach the webhook denies succeeded")
	g.Expect(apierrors.IsForbidden(err)).To(gomega.BeTrue(), "the webhook's denial must be a 403, got %v", err)
	g.Expect(err.Error()).To(gomega.ContainSubstring(msg), "the error carries the webhook's message")
	var seen *admissionv1.AdmissionRequest
	for _, r := range w.received() {
		if r.Operation == admissionv1.Connect {
			seen = &r
		}
	}
	g.Expect(seen).NotTo(gomega.BeNil(), "the webhook was not sent the CONNECT")
	var opts corev1.PodAttachOptions
	ok(g, json.Unmarshal(seen.Object.Raw, &opts), "decoding the CONNECT's object")
	g.Expect(opts.Container).To(gomega.Equal("app"), "the PodAttachOptions sent must carry the request's container")
	g.Expect(opts.Stdout).To(gomega.BeTrue(), "the PodAttachOptions sent must carry the request's stdout=true")
}

// mutatedLabel is the label the spec's mutating webhook adds.
const mutatedLabel = "conformance.clusterkit.dev/mutated"

func specMutatingWebhookPatchStored(ctx context.Context, g gomega.Gomega, e *authEnv) {
	sel := admissionNamespace(ctx, g, e)
	w, err := startWebhook(e, func(req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
		return patchLabel(req, mutatedLabel, "yes")
	})
	ok(g, err, "starting the webhook")
	createMutatingConfig(ctx, g, e, mutatingHook("mutate.conformance.clusterkit.dev", w, "/mutate", sel))
	awaitWebhook(ctx, g, e, w)
	created, err := e.admin.CoreV1().ConfigMaps(e.ns).Create(ctx, admissionConfigMap("mutated", map[string]string{"app": "x"}, nil), metav1.CreateOptions{})
	ok(g, err, "creating a ConfigMap")
	g.Expect(created.Labels).To(gomega.HaveKeyWithValue(mutatedLabel, "yes"), "the create's answer carries the patch")
	got, err := e.admin.CoreV1().ConfigMaps(e.ns).Get(ctx, "mutated", metav1.GetOptions{})
	ok(g, err, "reading the ConfigMap")
	g.Expect(got.Labels).To(gomega.HaveKeyWithValue(mutatedLabel, "yes"), "the stored ConfigMap carries the patch")
	g.Expect(got.Labels).To(gomega.HaveKeyWithValue("app", "x"), "the patch kept the other labels")
}

func specMutatingBeforeValidating(ctx context.Context, g gomega.Gomega, e *authEnv) {
	sel := admissionNamespace(ctx, g, e)
	w, err := startWebhook(e, func(req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
		if strings.HasPrefix(req.Name, markerPrefix) {
			return allow()
		}
		if req.Kind.Kind == "ConfigMap" && req.Operation == admissionv1.Create && strings.Contains(string(req.Object.Raw), "\"mutate-me\"") {
			// /mutate adds the label, /validate requires it.
			if _, found := labelOf(*req, mutatedLabel); !found {
				return patchLabel(req, mutatedLabel, "yes")
			}
		}
		return allow()
	})
	ok(g, err, "starting the mutating webhook")
	v, err := startWebhook(e, func(req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
		if isMarker(req) {
			return allow()
		}
		if _, found := labelOf(*req, mutatedLabel); !found {
			return deny("the object was not mutated before validation")
		}
		return allow()
	})
	ok(g, err, "starting the validating webhook")
	createMutatingConfig(ctx, g, e, mutatingHook("mutate.conformance.clusterkit.dev", w, "/mutate", sel))
	createValidatingConfig(ctx, g, e, validatingHook("validate.conformance.clusterkit.dev", v, "/validate", sel))
	awaitWebhook(ctx, g, e, w)
	awaitWebhook(ctx, g, e, v)
	_, err = e.admin.CoreV1().ConfigMaps(e.ns).Create(ctx, admissionConfigMap("ordered", nil, map[string]string{"k": "mutate-me"}), metav1.CreateOptions{})
	ok(g, err, "creating a ConfigMap the mutating webhook labels and the validating webhook requires labelled")
	seen := v.receivedFor("ordered")
	g.Expect(seen).NotTo(gomega.BeEmpty(), "the validating webhook was not called")
	for _, r := range seen {
		val, found := labelOf(r, mutatedLabel)
		g.Expect(found && val == "yes").To(gomega.BeTrue(), "the validating webhook saw the object before mutation")
	}
}

// stoppedWebhook registers a webhook with failure policy fp for the spec's namespace, waits
// until it is called, then stops its server.
func stoppedWebhook(ctx context.Context, g gomega.Gomega, e *authEnv, fp admissionregistrationv1.FailurePolicyType) {
	sel := admissionNamespace(ctx, g, e)
	w, err := startWebhook(e, func(*admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse { return allow() })
	ok(g, err, "starting the webhook")
	h := validatingHook("down.conformance.clusterkit.dev", w, "/down", sel)
	h.FailurePolicy = ptr.To(fp)
	h.TimeoutSeconds = ptr.To[int32](2)
	createValidatingConfig(ctx, g, e, h)
	awaitWebhook(ctx, g, e, w)
	w.stop()
}

func specFailurePolicyFail(ctx context.Context, g gomega.Gomega, e *authEnv) {
	stoppedWebhook(ctx, g, e, admissionregistrationv1.Fail)
	_, err := e.admin.CoreV1().ConfigMaps(e.ns).Create(ctx, admissionConfigMap("fail-closed", nil, nil), metav1.CreateOptions{})
	g.Expect(err).To(gomega.HaveOccurred(), "a write was admitted though its webhook (failurePolicy Fail) is down")
	g.Expect(err.Error()).To(gomega.ContainSubstring("down.conformance.clusterkit.dev"), "the error names the webhook")
	_, err = e.admin.CoreV1().ConfigMaps(e.ns).Get(ctx, "fail-closed", metav1.GetOptions{})
	g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "the rejected ConfigMap was stored: %v", err)
}

func specFailurePolicyIgnore(ctx context.Context, g gomega.Gomega, e *authEnv) {
	stoppedWebhook(ctx, g, e, admissionregistrationv1.Ignore)
	_, err := e.admin.CoreV1().ConfigMaps(e.ns).Create(ctx, admissionConfigMap("fail-open", nil, nil), metav1.CreateOptions{})
	ok(g, err, "a write whose webhook (failurePolicy Ignore) is down")
}

func specNamespaceSelector(ctx context.Context, g gomega.Gomega, e *authEnv) {
	other := e.ns
	sel := admissionNamespace(ctx, g, e)
	w, err := startWebhook(e, func(*admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse { return allow() })
	ok(g, err, "starting the webhook")
	createValidatingConfig(ctx, g, e, validatingHook("ns.conformance.clusterkit.dev", w, "/ns", sel))
	awaitWebhook(ctx, g, e, w)
	_, err = e.admin.CoreV1().ConfigMaps(other).Create(ctx, admissionConfigMap("elsewhere", nil, nil), metav1.CreateOptions{})
	ok(g, err, "creating a ConfigMap in a namespace the webhook does not select")
	_, err = e.admin.CoreV1().ConfigMaps(e.ns).Create(ctx, admissionConfigMap("here", nil, nil), metav1.CreateOptions{})
	ok(g, err, "creating a ConfigMap in the namespace the webhook selects")
	g.Expect(w.receivedFor("here")).NotTo(gomega.BeEmpty(), "the webhook got no request for its namespace")
	g.Expect(w.receivedFor("elsewhere")).To(gomega.BeEmpty(), "the webhook got a request for a namespace it does not select")
}

func specObjectSelector(ctx context.Context, g gomega.Gomega, e *authEnv) {
	sel := admissionNamespace(ctx, g, e)
	w, err := startWebhook(e, func(*admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse { return allow() })
	ok(g, err, "starting the webhook")
	// A first webhook of the configuration takes the markers; the second selects objects.
	h := validatingHook("objects.conformance.clusterkit.dev", w, "/objects", sel)
	h.ObjectSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"webhook": "yes"}}
	createValidatingConfig(ctx, g, e, validatingHook("markers.conformance.clusterkit.dev", w, "/markers", sel), h)
	awaitWebhook(ctx, g, e, w)
	_, err = e.admin.CoreV1().ConfigMaps(e.ns).Create(ctx, admissionConfigMap("selected", map[string]string{"webhook": "yes"}, nil), metav1.CreateOptions{})
	ok(g, err, "creating a selected ConfigMap")
	_, err = e.admin.CoreV1().ConfigMaps(e.ns).Create(ctx, admissionConfigMap("unselected", map[string]string{"webhook": "no"}, nil), metav1.CreateOptions{})
	ok(g, err, "creating an unselected ConfigMap")
	// The markers webhook gets every ConfigMap once; the objects webhook only the selected.
	g.Expect(w.receivedFor("selected")).To(gomega.HaveLen(2), "the selected ConfigMap went to both webhooks")
	g.Expect(w.receivedFor("unselected")).To(gomega.HaveLen(1), "the unselected ConfigMap went to the webhook whose objectSelector does not select it")
}

func specWebhookDryRun(ctx context.Context, g gomega.Gomega, e *authEnv) {
	sel := admissionNamespace(ctx, g, e)
	w, err := startWebhook(e, func(*admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse { return allow() })
	ok(g, err, "starting the webhook")
	createValidatingConfig(ctx, g, e, validatingHook("dryrun.conformance.clusterkit.dev", w, "/dryrun", sel))
	awaitWebhook(ctx, g, e, w)
	_, err = e.admin.CoreV1().ConfigMaps(e.ns).Create(ctx, admissionConfigMap("dry", nil, nil), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	ok(g, err, "a dry-run create")
	reqs := w.receivedFor("dry")
	g.Expect(reqs).To(gomega.HaveLen(1), "the webhook got the dry-run request once")
	g.Expect(reqs[0].DryRun).To(gomega.HaveValue(gomega.BeTrue()), "request.dryRun")
	_, err = e.admin.CoreV1().ConfigMaps(e.ns).Get(ctx, "dry", metav1.GetOptions{})
	g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "the dry-run ConfigMap was stored: %v", err)
}

// policyMessage is the message of the spec's policy.
const policyMessage = "clusterkit conformance policy: data.forbidden is not allowed"

func specPolicyDenies(ctx context.Context, g gomega.Gomega, e *authEnv) {
	sel := admissionNamespace(ctx, g, e)
	name := e.ns + "-policy"
	policies := e.admin.AdmissionregistrationV1().ValidatingAdmissionPolicies()
	_, err := policies.Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionregistrationv1.Fail),
			MatchConstraints: &admissionregistrationv1.MatchResources{
				ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{RuleWithOperations: configMapRule()[0]}},
			},
			Validations: []admissionregistrationv1.Validation{{
				Expression: "!has(object.data) || !('forbidden' in object.data)",
				Message:    policyMessage,
			}},
		},
	}, metav1.CreateOptions{})
	ok(g, err, "creating the ValidatingAdmissionPolicy")
	e.c.Cleanup(func() { _ = policies.Delete(context.Background(), name, metav1.DeleteOptions{}) })
	bindings := e.admin.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings()
	_, err = bindings.Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        name,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
			MatchResources:    &admissionregistrationv1.MatchResources{NamespaceSelector: sel},
		},
	}, metav1.CreateOptions{})
	ok(g, err, "creating the ValidatingAdmissionPolicyBinding")
	e.c.Cleanup(func() { _ = bindings.Delete(context.Background(), name, metav1.DeleteOptions{}) })
	var last error
	g.Eventually(func() bool {
		_, last = e.admin.CoreV1().ConfigMaps(e.ns).Create(ctx, admissionConfigMap("forbidden", nil, map[string]string{"forbidden": "x"}),
			metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return last != nil
	}).WithContext(ctx).WithTimeout(admissionWait).WithPolling(200*time.Millisecond).Should(gomega.BeTrue(), "the policy was never enforced")
	_, err = e.admin.CoreV1().ConfigMaps(e.ns).Create(ctx, admissionConfigMap("forbidden", nil, map[string]string{"forbidden": "x"}), metav1.CreateOptions{})
	g.Expect(err).To(gomega.HaveOccurred(), "a ConfigMap the policy forbids was created")
	g.Expect(err.Error()).To(gomega.ContainSubstring(policyMessage), "the error carries the policy's message")
	_, err = e.admin.CoreV1().ConfigMaps(e.ns).Create(ctx, admissionConfigMap("allowed", nil, map[string]string{"fine": "x"}), metav1.CreateOptions{})
	ok(g, err, "creating a ConfigMap the policy allows")
}

// policyLabel is the label the spec's MutatingAdmissionPolicy adds.
const policyLabel = "conformance.clusterkit.dev/policy"

func specMutatingPolicyPatch(ctx context.Context, g gomega.Gomega, e *authEnv) {
	sel := admissionNamespace(ctx, g, e)
	name := e.ns + "-mutating-policy"
	policies := e.admin.AdmissionregistrationV1().MutatingAdmissionPolicies()
	_, err := policies.Create(ctx, &admissionregistrationv1.MutatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.MutatingAdmissionPolicySpec{
			FailurePolicy:      ptr.To(admissionregistrationv1.Fail),
			ReinvocationPolicy: admissionregistrationv1.NeverReinvocationPolicy,
			MatchConstraints: &admissionregistrationv1.MatchResources{
				ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{RuleWithOperations: configMapRule()[0]}},
			},
			Mutations: []admissionregistrationv1.Mutation{{
				PatchType: admissionregistrationv1.PatchTypeJSONPatch,
				JSONPatch: &admissionregistrationv1.JSONPatch{
					Expression: `[JSONPatch{op: "add", path: "/metadata/labels", value: {"` + policyLabel + `": "yes"}}]`,
				},
			}},
		},
	}, metav1.CreateOptions{})
	ok(g, err, "creating the MutatingAdmissionPolicy")
	e.c.Cleanup(func() { _ = policies.Delete(context.Background(), name, metav1.DeleteOptions{}) })
	bindings := e.admin.AdmissionregistrationV1().MutatingAdmissionPolicyBindings()
	_, err = bindings.Create(ctx, &admissionregistrationv1.MutatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.MutatingAdmissionPolicyBindingSpec{
			PolicyName:     name,
			MatchResources: &admissionregistrationv1.MatchResources{NamespaceSelector: sel},
		},
	}, metav1.CreateOptions{})
	ok(g, err, "creating the MutatingAdmissionPolicyBinding")
	e.c.Cleanup(func() { _ = bindings.Delete(context.Background(), name, metav1.DeleteOptions{}) })
	g.Eventually(func() map[string]string {
		cm, err := e.admin.CoreV1().ConfigMaps(e.ns).Create(ctx, admissionConfigMap("probe", nil, nil), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			return nil
		}
		return cm.Labels
	}).WithContext(ctx).WithTimeout(admissionWait).WithPolling(200*time.Millisecond).Should(gomega.HaveKey(policyLabel), "the policy was never applied")
	_, err = e.admin.CoreV1().ConfigMaps(e.ns).Create(ctx, admissionConfigMap("patched", nil, nil), metav1.CreateOptions{})
	ok(g, err, "creating a ConfigMap")
	got, err := e.admin.CoreV1().ConfigMaps(e.ns).Get(ctx, "patched", metav1.GetOptions{})
	ok(g, err, "reading the ConfigMap")
	g.Expect(got.Labels).To(gomega.HaveKeyWithValue(policyLabel, "yes"), "the stored ConfigMap carries the policy's patch")
}
