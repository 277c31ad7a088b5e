package controllerruntime_test

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/cert"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	controllerruntime "github.com/clusterkit/clusterkit/peers/controller-runtime"
	"github.com/clusterkit/clusterkit/reference/harness"
)

// TestControllerRuntimeWebhookServer runs a controller-runtime webhook server (the builder's
// defaulter and validator) on loopback, registers it with clusterkit's closed API server
// through Mutating- and ValidatingWebhookConfigurations, and checks that creates are mutated,
// validated after mutation, denied with the webhook's message, and that the warnings reach
// the client.
func TestControllerRuntimeWebhookServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := harness.InProcessAuth(harness.MemoryStore()).Connect(ctx, t)
	if err != nil {
		t.Fatal(err)
	}

	// The webhook server's certificate, for 127.0.0.1.
	dir := t.TempDir()
	certPEM, keyPEM, err := cert.GenerateSelfSignedCertKey("127.0.0.1", []net.IP{net.ParseIP("127.0.0.1")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	mgr, err := ctrl.NewManager(srv.Admin, ctrl.Options{
		Scheme:         scheme,
		Metrics:        metricsserver.Options{BindAddress: "0"}, // no metrics listener
		LeaderElection: false,
		WebhookServer: webhook.NewServer(webhook.Options{
			Host: "127.0.0.1", Port: port, CertDir: dir,
			TLSOpts: []func(*tls.Config){func(c *tls.Config) { c.MinVersion = tls.VersionTLS12 }},
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := ctrl.NewWebhookManagedBy(mgr, &corev1.ConfigMap{}).WithDefaulter(controllerruntime.Labeler{}).WithValidator(controllerruntime.Labeler{}).Complete(); err != nil {
		t.Fatal(err)
	}
	mctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	t.Cleanup(func() { stop(); <-done })

	warnings := &warningLog{}
	cc := rest.CopyConfig(srv.Admin)
	cc.WarningHandler = warnings
	client, err := kubernetes.NewForConfig(cc)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "crwebhook-", Labels: map[string]string{"crwebhook": "on"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	base := "https://127.0.0.1:" + strconv.Itoa(port)
	rules := []admissionregistrationv1.RuleWithOperations{{
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
		Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
	}}
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{"crwebhook": "on"}}
	none := admissionregistrationv1.SideEffectClassNone
	// controller-runtime serves the builder's webhooks at these paths (group "" → "core").
	mutatePath, validatePath := base+"/mutate--v1-configmap", base+"/validate--v1-configmap"
	if _, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: ns.Name},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name: "default.configmaps.clusterkit.io", ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &mutatePath, CABundle: certPEM},
			Rules: rules, NamespaceSelector: selector, SideEffects: &none, AdmissionReviewVersions: []string{"v1"},
			FailurePolicy: ptr.To(admissionregistrationv1.Fail),
		}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = client.AdmissionregistrationV1().MutatingWebhookConfigurations().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
	})
	if _, err := client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: ns.Name},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name: "validate.configmaps.clusterkit.io", ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &validatePath, CABundle: certPEM},
			Rules: rules, NamespaceSelector: selector, SideEffects: &none, AdmissionReviewVersions: []string{"v1"},
			FailurePolicy: ptr.To(admissionregistrationv1.Fail),
		}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
	})

	// The configurations take effect within a few seconds (and the webhook server starts).
	var got *corev1.ConfigMap
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; ; i++ {
		got, err = client.CoreV1().ConfigMaps(ns.Name).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "ok-" + strconv.Itoa(i)}, Data: map[string]string{"a": "b"}}, metav1.CreateOptions{})
		if err == nil && got.Labels["webhook"] == "seen" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a ConfigMap create was never mutated by the controller-runtime webhook: err=%v labels=%v", err, got.Labels)
		}
		time.Sleep(200 * time.Millisecond)
	}

	if !warnings.has("checked by controller-runtime") {
		t.Fatalf("the validating webhook's warning did not reach the client: %v", warnings.all())
	}

	_, err = client.CoreV1().ConfigMaps(ns.Name).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "bad"}, Data: map[string]string{"forbidden": "x"}}, metav1.CreateOptions{})
	if err == nil || !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `key "forbidden" is not allowed`) {
		t.Fatalf("the validating webhook's denial: want 403 with its message, got %v", err)
	}
	if _, err := client.CoreV1().ConfigMaps(ns.Name).Get(ctx, "bad", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("a denied ConfigMap was stored (get: %v)", err)
	}
}

// warningLog collects the warnings the API server sends (Warning headers).
type warningLog struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warningLog) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

func (w *warningLog) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.msgs...)
}

func (w *warningLog) has(text string) bool {
	for _, m := range w.all() {
		if strings.Contains(m, text) {
			return true
		}
	}
	return false
}
