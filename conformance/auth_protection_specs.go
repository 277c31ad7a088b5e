package conformance

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

// Sources of the protection behaviours.
const (
	srcPodSecurity = "Kubernetes: Pod Security Admission (kubernetes.io/docs/concepts/security/pod-security-admission) and the Pod Security Standards (kubernetes.io/docs/concepts/security/pod-security-standards)"
	srcDryRun      = "Kubernetes API concepts: dry-run (kubernetes.io/docs/reference/using-api/api-concepts/#dry-run): dryRun accepts All only (apimachinery ValidateDryRun)"
	srcEncryption  = "Kubernetes: Encrypting Confidential Data at Rest (kubernetes.io/docs/tasks/administer-cluster/encrypt-data)"
	srcPodLog      = "Kubernetes Pod API: PodLogOptions (pkg/apis/core/validation ValidatePodLogOptions)"
)

// The Pod Security labels of a namespace.
const (
	psEnforce = "pod-security.kubernetes.io/enforce"
	psWarn    = "pod-security.kubernetes.io/warn"
)

// protectionSpecs are the auth behaviours of encryption at rest, Pod Security admission, dryRun.
func protectionSpecs() []spec[*authEnv] {
	return []spec[*authEnv]{
		{auth("auth.podsecurity.enforce-baseline", "in a namespace labelled pod-security.kubernetes.io/enforce=baseline, a pod with a privileged container MUST be rejected with 403 Forbidden naming PodSecurity \"baseline:latest\" and not be stored, and a pod meeting baseline MUST be accepted", srcPodSecurity), specPodSecurityEnforceBaseline},
		{auth("auth.podsecurity.enforce-restricted", "in a namespace labelled pod-security.kubernetes.io/enforce=restricted, a pod that does not meet restricted (no securityContext) MUST be rejected with 403 Forbidden naming PodSecurity \"restricted:latest\" and not be stored, and a pod meeting restricted MUST be accepted", srcPodSecurity), specPodSecurityEnforceRestricted},
		{auth("auth.podsecurity.warn", "in a namespace labelled pod-security.kubernetes.io/warn=restricted and enforce=privileged, a pod that does not meet restricted MUST be accepted with a Warning naming PodSecurity \"restricted:latest\"", srcPodSecurity), specPodSecurityWarn},
		{auth("auth.dryrun.all-stores-nothing", "a create and a delete with dryRun=All MUST answer as if done and change nothing that is stored", srcDryRun), specDryRunAllStoresNothing},
		{auth("auth.dryrun.only-all", "a create, update, patch or delete whose dryRun is anything but All (true, 1, x) MUST be rejected with 422 naming dryRun and change nothing", srcDryRun), specDryRunOnlyAll},
		{authNeeds(auth("auth.encryption.secret-not-in-stored-bytes", "a Secret's value MUST NOT appear in the bytes the API server stores for it (encryption at rest)", srcEncryption), StoredBytes), specSecretEncryptedAtRest},
		{auth("auth.podlog.negative-tail-lines", "a pods/log request with a negative tailLines MUST be rejected with 422 naming tailLines", srcPodLog), specPodLogNegativeTailLines},
	}
}

func authNeeds(b Behavior, needs ...Capability) Behavior {
	b.Needs = append(b.Needs, needs...)
	return b
}

// labelNamespace moves the spec to a new namespace of its own created with labels (a label
// added to an existing namespace reaches kube-apiserver's Pod Security through its informer,
// a moment later).
func labelNamespace(ctx context.Context, g gomega.Gomega, e *authEnv, labels map[string]string) {
	ns, err := newSpecNamespace(ctx, e.admin, e.c, "auth", true, labels)
	ok(g, err, "creating a labelled namespace")
	e.ns = ns
}

// protectedPod is a pod that is never scheduled (so it runs nowhere), with one container "c".
func protectedPod(name string, sc *corev1.SecurityContext) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			SchedulerName: unscheduled,
			Containers:    []corev1.Container{{Name: "c", Image: "registry.example/app:1.0", SecurityContext: sc}},
		},
	}
}

// restrictedContext meets the restricted level (with a pod that sets nothing else).
func restrictedContext() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		RunAsNonRoot:             ptr.To(true),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// expectPodSecurityForbidden asserts a 403 naming the violated level and that nothing is stored.
func expectPodSecurityForbidden(ctx context.Context, g gomega.Gomega, e *authEnv, err error, name, level string) {
	g.ExpectWithOffset(1, err).To(gomega.HaveOccurred(), "creating pod %s that violates %s: expected 403 Forbidden, got success", name, level)
	g.ExpectWithOffset(1, apierrors.IsForbidden(err)).To(gomega.BeTrue(), "creating pod %s that violates %s: expected 403 Forbidden, got %v", name, level, err)
	g.ExpectWithOffset(1, err.Error()).To(gomega.ContainSubstring(fmt.Sprintf("violates PodSecurity %q", level+":latest")), "the 403 must name the violated policy")
	_, gerr := e.admin.CoreV1().Pods(e.ns).Get(ctx, name, metav1.GetOptions{})
	g.ExpectWithOffset(1, apierrors.IsNotFound(gerr)).To(gomega.BeTrue(), "the rejected pod %s must not be stored (get: %v)", name, gerr)
}

func specPodSecurityEnforceBaseline(ctx context.Context, g gomega.Gomega, e *authEnv) {
	labelNamespace(ctx, g, e, map[string]string{psEnforce: "baseline"})
	_, err := e.admin.CoreV1().Pods(e.ns).Create(ctx, protectedPod("privileged", &corev1.SecurityContext{Privileged: ptr.To(true)}), metav1.CreateOptions{})
	expectPodSecurityForbidden(ctx, g, e, err, "privileged", "baseline")
	_, err = e.admin.CoreV1().Pods(e.ns).Create(ctx, protectedPod("baseline", nil), metav1.CreateOptions{})
	ok(g, err, "creating a pod that meets baseline")
}

func specPodSecurityEnforceRestricted(ctx context.Context, g gomega.Gomega, e *authEnv) {
	labelNamespace(ctx, g, e, map[string]string{psEnforce: "restricted"})
	_, err := e.admin.CoreV1().Pods(e.ns).Create(ctx, protectedPod("unrestricted", nil), metav1.CreateOptions{})
	expectPodSecurityForbidden(ctx, g, e, err, "unrestricted", "restricted")
	_, err = e.admin.CoreV1().Pods(e.ns).Create(ctx, protectedPod("restricted", restrictedContext()), metav1.CreateOptions{})
	ok(g, err, "creating a pod that meets restricted")
}

// warningCollector keeps the Warning headers a client receives.
type warningCollector struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warningCollector) HandleWarningHeader(_ int, _ string, msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, msg)
}

func (w *warningCollector) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.msgs...)
}

func specPodSecurityWarn(ctx context.Context, g gomega.Gomega, e *authEnv) {
	labelNamespace(ctx, g, e, map[string]string{psEnforce: "privileged", psWarn: "restricted"})
	warnings := &warningCollector{}
	cfg := rest.CopyConfig(e.server.Admin)
	cfg.WarningHandler = warnings
	client, err := specClient(cfg)
	ok(g, err, "a client that collects warnings")
	_, err = client.CoreV1().Pods(e.ns).Create(ctx, protectedPod("warned", nil), metav1.CreateOptions{})
	ok(g, err, "creating a pod that does not meet restricted under warn=restricted")
	g.Expect(strings.Join(warnings.all(), "\n")).To(gomega.ContainSubstring(`would violate PodSecurity "restricted:latest"`),
		"the create must be answered with a Warning naming the policy (warnings: %q)", warnings.all())
}

func specDryRunAllStoresNothing(ctx context.Context, g gomega.Gomega, e *authEnv) {
	cms := e.admin.CoreV1().ConfigMaps(e.ns)
	created, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "dry"}, Data: map[string]string{"a": "1"}}, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	ok(g, err, "a create with dryRun=All")
	g.Expect(created.Data).To(gomega.Equal(map[string]string{"a": "1"}), "the dry-run create answers the object")
	_, err = cms.Get(ctx, "dry", metav1.GetOptions{})
	g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "a dryRun=All create must store nothing (get: %v)", err)

	_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kept"}}, metav1.CreateOptions{})
	ok(g, err, "creating a ConfigMap")
	ok(g, cms.Delete(ctx, "kept", metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}}), "a delete with dryRun=All")
	_, err = cms.Get(ctx, "kept", metav1.GetOptions{})
	ok(g, err, "a dryRun=All delete must leave the ConfigMap stored")
}

func specDryRunOnlyAll(ctx context.Context, g gomega.Gomega, e *authEnv) {
	rc := e.admin.CoreV1().RESTClient()
	base := "/api/v1/namespaces/" + e.ns + "/configmaps"
	for _, v := range []string{"true", "1", "x"} {
		err := rc.Post().AbsPath(base).Param("dryRun", v).
			Body([]byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"bad-dry-run"}}`)).Do(ctx).Error()
		expectInvalid(g, err, "a create with dryRun="+v, "dryRun")
	}
	_, err := e.admin.CoreV1().ConfigMaps(e.ns).Get(ctx, "bad-dry-run", metav1.GetOptions{})
	g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "a create with an invalid dryRun must store nothing (get: %v)", err)

	_, err = e.admin.CoreV1().ConfigMaps(e.ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kept"}, Data: map[string]string{"a": "1"}}, metav1.CreateOptions{})
	ok(g, err, "creating a ConfigMap")
	obj := base + "/kept"
	expectInvalid(g, rc.Put().AbsPath(obj).Param("dryRun", "true").
		Body([]byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"kept"},"data":{"a":"2"}}`)).Do(ctx).Error(), "an update with dryRun=true", "dryRun")
	expectInvalid(g, rc.Patch(types.MergePatchType).AbsPath(obj).Param("dryRun", "1").
		Body([]byte(`{"data":{"a":"3"}}`)).Do(ctx).Error(), "a patch with dryRun=1", "dryRun")
	expectInvalid(g, rc.Delete().AbsPath(obj).Param("dryRun", "x").Do(ctx).Error(), "a delete with dryRun=x", "dryRun")
	expectInvalid(g, rc.Delete().AbsPath(base).Param("dryRun", "true").Do(ctx).Error(), "a deletecollection with dryRun=true", "dryRun")
	got, err := e.admin.CoreV1().ConfigMaps(e.ns).Get(ctx, "kept", metav1.GetOptions{})
	ok(g, err, "the ConfigMap must survive the rejected delete and deletecollection")
	g.Expect(got.Data).To(gomega.Equal(map[string]string{"a": "1"}), "the rejected update and patch must change nothing")
}

func specSecretEncryptedAtRest(ctx context.Context, g gomega.Gomega, e *authEnv) {
	g.Expect(e.server.StoredValue).NotTo(gomega.BeNil(), "the harness declares StoredBytes but has no StoredValue")
	const value = "ck-conformance-plaintext-7f3a9c"
	_, err := e.admin.CoreV1().Secrets(e.ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "at-rest"},
		Data:       map[string][]byte{"password": []byte(value)},
	}, metav1.CreateOptions{})
	ok(g, err, "creating a Secret")
	stored, err := e.server.StoredValue(ctx, "secrets", e.ns, "at-rest")
	ok(g, err, "reading the Secret's stored bytes")
	g.Expect(stored).NotTo(gomega.BeEmpty(), "the Secret's stored bytes")
	for _, form := range []string{value, base64.StdEncoding.EncodeToString([]byte(value))} {
		g.Expect(strings.Contains(string(stored), form)).To(gomega.BeFalse(), "the Secret's value (%q) must not appear in its stored bytes", form)
	}
	got, err := e.admin.CoreV1().Secrets(e.ns).Get(ctx, "at-rest", metav1.GetOptions{})
	ok(g, err, "reading the Secret through the API")
	g.Expect(string(got.Data["password"])).To(gomega.Equal(value), "the API must answer the Secret's plain value")
}

func specPodLogNegativeTailLines(ctx context.Context, g gomega.Gomega, e *authEnv) {
	_, err := e.admin.CoreV1().Pods(e.ns).Create(ctx, protectedPod("logs", restrictedContext()), metav1.CreateOptions{})
	ok(g, err, "creating a pod")
	err = e.admin.CoreV1().Pods(e.ns).GetLogs("logs", &corev1.PodLogOptions{TailLines: ptr.To[int64](-1)}).Do(ctx).Error()
	expectInvalid(g, err, "pods/log with tailLines=-1", "tailLines")
}

var _ rest.WarningHandler = (*warningCollector)(nil)
