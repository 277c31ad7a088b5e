package apiserver_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/apiserver/podsecurity"
)

// warnings collects the Warning headers client-go sees.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, msg)
}

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.msgs
	w.msgs = nil
	return out
}

func podSecurityServer(t *testing.T, defaults podsecurity.Defaults, chain bool) (*testServer, kubernetes.Interface, *warnings) {
	t.Helper()
	psa, err := podsecurity.New(defaults, podsecurity.Exemptions{})
	if err != nil {
		t.Fatal(err)
	}
	var plugin admission.Interface = psa
	if chain {
		plugin = admission.NewChainHandler(psa)
	}
	ts := newTestServer(t, func(c *apiserver.Config) { c.Admission = plugin })
	w := &warnings{}
	cfg := rest.CopyConfig(ts.config)
	cfg.WarningHandler = w
	return ts, kubernetes.NewForConfigOrDie(cfg), w
}

func nsWithLabels(t *testing.T, ctx context.Context, c kubernetes.Interface, name string, labels map[string]string) {
	t.Helper()
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("namespace %s: %v", name, err)
	}
}

func privilegedPod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "c", Image: "busybox",
			SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)},
		}}},
	}
}

func plainPod(name string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
}

func TestPodSecurityEnforce(t *testing.T) {
	for _, chain := range []bool{false, true} {
		ts, c, _ := podSecurityServer(t, podsecurity.Defaults{}, chain)
		ctx := ctxT(t)
		nsWithLabels(t, ctx, c, "base", map[string]string{"pod-security.kubernetes.io/enforce": "baseline"})
		_, err := c.CoreV1().Pods("base").Create(ctx, privilegedPod("x"), metav1.CreateOptions{})
		want := `pods "x" is forbidden: violates PodSecurity "baseline:latest": privileged (container "c" must not set securityContext.privileged=true)`
		if !apierrors.IsForbidden(err) || err.Error() != want {
			t.Fatalf("chain=%v: privileged pod under enforce=baseline: %v\nwant %s", chain, err, want)
		}
		if _, err := c.CoreV1().Pods("base").Get(ctx, "x", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("the rejected pod was stored: %v", err)
		}
		if _, err := c.CoreV1().Pods("base").Create(ctx, plainPod("ok"), metav1.CreateOptions{}); err != nil {
			t.Errorf("a baseline pod: %v", err)
		}
		_ = ts
	}
}

func TestPodSecurityWarnAndDefault(t *testing.T) {
	_, c, w := podSecurityServer(t, podsecurity.Level("baseline"), false)
	ctx := ctxT(t)
	// The default level applies to a namespace without labels.
	_, err := c.CoreV1().Pods("default").Create(ctx, privilegedPod("x"), metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `violates PodSecurity "baseline:latest"`) {
		t.Fatalf("default baseline: %v", err)
	}
	w.take()
	// warn=restricted on a privileged-enforcing namespace: accepted with a warning.
	nsWithLabels(t, ctx, c, "warned", map[string]string{
		"pod-security.kubernetes.io/enforce": "privileged",
		"pod-security.kubernetes.io/warn":    "restricted",
	})
	if _, err := c.CoreV1().Pods("warned").Create(ctx, plainPod("p"), metav1.CreateOptions{}); err != nil {
		t.Fatalf("warn only: %v", err)
	}
	got := w.take()
	if len(got) == 0 || !strings.Contains(strings.Join(got, "\n"), `would violate PodSecurity "restricted:latest"`) {
		t.Errorf("warnings = %q", got)
	}
	// Workload templates are checked for warn (not enforce).
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "d"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"a": "b"}}, Spec: privilegedPod("").Spec},
		},
	}
	if _, err := c.AppsV1().Deployments("warned").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatalf("deployment: %v", err)
	}
	if got := w.take(); !strings.Contains(strings.Join(got, "\n"), "privileged") {
		t.Errorf("deployment warnings = %q", got)
	}
	// An invalid level on a new namespace is 422.
	_, err = c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bad", Labels: map[string]string{"pod-security.kubernetes.io/enforce": "strict"}}}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Errorf("invalid level: %v", err)
	}
	// Tightening enforce on a namespace with violating pods warns about them.
	nsWithLabels(t, ctx, c, "loose", map[string]string{"pod-security.kubernetes.io/enforce": "privileged"})
	if _, err := c.CoreV1().Pods("loose").Create(ctx, privilegedPod("priv"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w.take()
	if _, err := c.CoreV1().Namespaces().Patch(ctx, "loose", types.MergePatchType, []byte(`{"metadata":{"labels":{"pod-security.kubernetes.io/enforce":"baseline"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := w.take(); !strings.Contains(strings.Join(got, "\n"), "priv") {
		t.Errorf("tightening warnings = %q", got)
	}
}

func TestDryRunValues(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	rc := ts.client.CoreV1().RESTClient()
	body := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm"}}`
	for _, v := range []string{"true", "1", "x", "All&dryRun=x"} {
		err := rc.Post().AbsPath("/api/v1/namespaces/default/configmaps").Param("dryRun", v).Body([]byte(body)).Do(ctx).Error()
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "dryRun") {
			t.Errorf("create dryRun=%s: %v", v, err)
		}
		t.Logf("create dryRun=%s: %v", v, err)
	}
	if _, err := ts.client.CoreV1().ConfigMaps("default").Get(ctx, "cm", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("stored after rejected dry runs: %v", err)
	}
	if _, err := ts.client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"}, Data: map[string]string{"a": "1"}}, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.client.CoreV1().ConfigMaps("default").Get(ctx, "cm", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("dryRun=All stored: %v", err)
	}
	if _, err := ts.client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"}, Data: map[string]string{"a": "1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/namespaces/default/configmaps/cm"
	checks := map[string]error{
		"update":           rc.Put().AbsPath(path).Param("dryRun", "true").Body([]byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm"},"data":{"a":"2"}}`)).Do(ctx).Error(),
		"patch":            rc.Patch(types.MergePatchType).AbsPath(path).Param("dryRun", "1").Body([]byte(`{"data":{"a":"2"}}`)).Do(ctx).Error(),
		"delete":           rc.Delete().AbsPath(path).Param("dryRun", "x").Do(ctx).Error(),
		"delete-body":      rc.Delete().AbsPath(path).Body([]byte(`{"dryRun":["true"]}`)).Do(ctx).Error(),
		"deletecollection": rc.Delete().AbsPath("/api/v1/namespaces/default/configmaps").Param("dryRun", "true").Do(ctx).Error(),
	}
	for what, err := range checks {
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "dryRun") {
			t.Errorf("%s with a bad dryRun: %v", what, err)
		}
	}
	got, err := ts.client.CoreV1().ConfigMaps("default").Get(ctx, "cm", metav1.GetOptions{})
	if err != nil || got.Data["a"] != "1" {
		t.Errorf("after rejected writes: %v %v", err, got.Data)
	}
}

func TestPodLogOptionsValidation(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	if _, err := ts.client.CoreV1().Pods("default").Create(ctx, plainPod("p"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for q, field := range map[string]string{
		"tailLines=-1":    "tailLines",
		"limitBytes=0":    "limitBytes",
		"sinceSeconds=-5": "sinceSeconds",
		"sinceSeconds=5&sinceTime=2026-01-01T00:00:00Z": "sinceTime",
	} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.http.URL+"/api/v1/namespaces/default/pods/p/log?"+q, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), field) {
			t.Errorf("%s: status %d %s, want 422 naming %s", q, resp.StatusCode, body, field)
		}
	}
}

// clientPlugin refuses ConfigMaps in namespaces labelled deny=true, reading the namespace
// through the loopback client the server hands it.
type clientPlugin struct{ client kubernetes.Interface }

func (p *clientPlugin) SetExternalKubeClientSet(c kubernetes.Interface) { p.client = c }
func (p *clientPlugin) ValidateInitialization() error {
	if p.client == nil {
		return errors.New("no client")
	}
	return nil
}
func (p *clientPlugin) Handles(op admission.Operation) bool { return op == admission.Create }
func (p *clientPlugin) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetResource().Resource != "configmaps" {
		return nil
	}
	ns, err := p.client.CoreV1().Namespaces().Get(ctx, a.GetNamespace(), metav1.GetOptions{})
	if err != nil {
		return err
	}
	if ns.Labels["deny"] == "true" {
		return admission.NewForbidden(a, errors.New("denied by label"))
	}
	return nil
}

func TestAdmissionLoopbackClient(t *testing.T) {
	p := &clientPlugin{}
	ts := newTestServer(t, func(c *apiserver.Config) { c.Admission = admission.NewChainHandler(p) })
	ctx := ctxT(t)
	nsWithLabels(t, ctx, ts.client, "denied", map[string]string{"deny": "true"})
	_, err := ts.client.CoreV1().ConfigMaps("denied").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("create in a denied namespace: %v", err)
	}
	if _, err := ts.client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{}); err != nil {
		t.Errorf("create in default: %v", err)
	}
}
