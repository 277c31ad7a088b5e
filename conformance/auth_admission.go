package conformance

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/onsi/gomega"
	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// admissionWait bounds how long a new admission configuration may take to be enforced (an
// API server reads it through an informer).
const admissionWait = 30 * time.Second

// webhookServer is an HTTPS admission webhook the spec runs on loopback: it answers
// AdmissionReview v1 with review's answer and records every request it gets.
type webhookServer struct {
	url      string
	caBundle []byte
	srv      *http.Server

	mu       sync.Mutex
	requests []admissionv1.AdmissionRequest
}

// review answers one admission request.
type review func(req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse

// startWebhook serves review over HTTPS on 127.0.0.1 with a fresh self-signed certificate
// until the spec ends.
func startWebhook(e *authEnv, answer review) (*webhookServer, error) {
	cert, caPEM, err := loopbackCertificate()
	if err != nil {
		return nil, err
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		return nil, err
	}
	w := &webhookServer{url: "https://" + ln.Addr().String(), caBundle: caPEM}
	srv := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var in admissionv1.AdmissionReview
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Request == nil {
			http.Error(rw, "not an AdmissionReview", http.StatusBadRequest)
			return
		}
		w.mu.Lock()
		w.requests = append(w.requests, *in.Request)
		w.mu.Unlock()
		resp := answer(in.Request)
		resp.UID = in.Request.UID
		out := admissionv1.AdmissionReview{TypeMeta: in.TypeMeta, Response: resp}
		rw.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(rw).Encode(out)
	}), ReadHeaderTimeout: 10 * time.Second}
	w.srv = srv
	go func() { _ = srv.Serve(ln) }()
	e.c.Cleanup(func() { _ = srv.Close() })
	return w, nil
}

// stop closes the webhook's listener and connections: calls to it fail from now on.
func (w *webhookServer) stop() { _ = w.srv.Close() }

// received returns the requests received so far.
func (w *webhookServer) received() []admissionv1.AdmissionRequest {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]admissionv1.AdmissionRequest(nil), w.requests...)
}

// receivedFor returns the requests received for objects named name.
func (w *webhookServer) receivedFor(name string) []admissionv1.AdmissionRequest {
	var out []admissionv1.AdmissionRequest
	for _, r := range w.received() {
		if r.Name == name {
			out = append(out, r)
		}
	}
	return out
}

// clientConfig is the webhook's registration: its URL and the CA that signed its certificate.
func (w *webhookServer) clientConfig(path string) admissionregistrationv1.WebhookClientConfig {
	return admissionregistrationv1.WebhookClientConfig{URL: ptr.To(w.url + path), CABundle: w.caBundle}
}

// loopbackCertificate makes a self-signed certificate for 127.0.0.1 and returns it with its PEM
// (the caBundle).
func loopbackCertificate() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "clusterkit-conformance-webhook"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, caPEM, nil
}

// admissionNamespace moves the spec to a namespace of its own labelled with a value no other
// namespace has, and returns the selector that matches it alone: the spec's webhooks and
// policies apply to it only (on a live cluster they leave everything else alone).
func admissionNamespace(ctx context.Context, g gomega.Gomega, e *authEnv) *metav1.LabelSelector {
	token := fmt.Sprintf("%d", time.Now().UnixNano())
	ns, err := newSpecNamespace(ctx, e.admin, e.c, "adm", false, map[string]string{admissionSpecLabel: token})
	ok(g, err, "creating the spec's namespace")
	e.ns = ns
	return &metav1.LabelSelector{MatchLabels: map[string]string{admissionSpecLabel: token}}
}

// admissionSpecLabel marks the namespace an admission spec's webhooks apply to.
const admissionSpecLabel = "conformance.clusterkit.dev/admission"

// configMapRule matches creates and updates of ConfigMaps.
func configMapRule() []admissionregistrationv1.RuleWithOperations {
	return []admissionregistrationv1.RuleWithOperations{{
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
		Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
	}}
}

// validatingHook is a validating webhook on ConfigMaps of the namespaces nsSel selects.
func validatingHook(name string, w *webhookServer, path string, nsSel *metav1.LabelSelector) admissionregistrationv1.ValidatingWebhook {
	return admissionregistrationv1.ValidatingWebhook{
		Name: name, ClientConfig: w.clientConfig(path), Rules: configMapRule(),
		NamespaceSelector: nsSel, SideEffects: ptr.To(admissionregistrationv1.SideEffectClassNone),
		AdmissionReviewVersions: []string{"v1"}, TimeoutSeconds: ptr.To[int32](5),
	}
}

// mutatingHook is a mutating webhook on ConfigMaps of the namespaces nsSel selects.
func mutatingHook(name string, w *webhookServer, path string, nsSel *metav1.LabelSelector) admissionregistrationv1.MutatingWebhook {
	return admissionregistrationv1.MutatingWebhook{
		Name: name, ClientConfig: w.clientConfig(path), Rules: configMapRule(),
		NamespaceSelector: nsSel, SideEffects: ptr.To(admissionregistrationv1.SideEffectClassNone),
		AdmissionReviewVersions: []string{"v1"}, TimeoutSeconds: ptr.To[int32](5),
	}
}

// createValidatingConfig registers hooks and deletes them when the spec ends.
func createValidatingConfig(ctx context.Context, g gomega.Gomega, e *authEnv, hooks ...admissionregistrationv1.ValidatingWebhook) {
	name := e.ns + "-validating"
	_, err := e.admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name}, Webhooks: hooks,
	}, metav1.CreateOptions{})
	ok(g, err, "creating the ValidatingWebhookConfiguration")
	e.c.Cleanup(func() {
		_ = e.admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
}

// createMutatingConfig registers hooks and deletes them when the spec ends.
func createMutatingConfig(ctx context.Context, g gomega.Gomega, e *authEnv, hooks ...admissionregistrationv1.MutatingWebhook) {
	name := e.ns + "-mutating"
	_, err := e.admin.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name}, Webhooks: hooks,
	}, metav1.CreateOptions{})
	ok(g, err, "creating the MutatingWebhookConfiguration")
	e.c.Cleanup(func() {
		_ = e.admin.AdmissionregistrationV1().MutatingWebhookConfigurations().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
}

// markerPrefix names the ConfigMaps a spec sends (as dry runs) until its webhooks get them.
const markerPrefix = "marker-"

// awaitWebhook waits until w receives requests for the spec's namespace: dry-run creates of
// marker ConfigMaps (stored nowhere) until one reaches w. Webhooks must let markers through.
func awaitWebhook(ctx context.Context, g gomega.Gomega, e *authEnv, w *webhookServer) {
	i := 0
	g.EventuallyWithOffset(1, func() int {
		i++
		name := fmt.Sprintf("%s%d", markerPrefix, i)
		_, _ = e.admin.CoreV1().ConfigMaps(e.ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}},
			metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		n := 0
		for _, r := range w.received() {
			if r.Namespace == e.ns && len(r.Name) > len(markerPrefix) && r.Name[:len(markerPrefix)] == markerPrefix {
				n++
			}
		}
		return n
	}).WithContext(ctx).WithTimeout(admissionWait).WithPolling(200*time.Millisecond).Should(gomega.BeNumerically(">", 0),
		"the webhook never received a request: its configuration was not enforced")
}

// isMarker reports whether a request is for a marker ConfigMap.
func isMarker(req *admissionv1.AdmissionRequest) bool {
	return len(req.Name) > len(markerPrefix) && req.Name[:len(markerPrefix)] == markerPrefix
}

// allow admits a request unchanged.
func allow() *admissionv1.AdmissionResponse { return &admissionv1.AdmissionResponse{Allowed: true} }

// deny refuses a request with a message and code 403.
func deny(msg string) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{Allowed: false, Result: &metav1.Status{Message: msg, Code: http.StatusForbidden, Reason: metav1.StatusReasonForbidden}}
}

// patchLabel admits a request with a JSON patch that adds the label key=value to an object
// that has labels or not.
func patchLabel(req *admissionv1.AdmissionRequest, key, value string) *admissionv1.AdmissionResponse {
	var obj metav1.PartialObjectMetadata
	_ = json.Unmarshal(req.Object.Raw, &obj)
	var ops []map[string]any
	if obj.Labels == nil {
		ops = append(ops, map[string]any{"op": "add", "path": "/metadata/labels", "value": map[string]string{key: value}})
	} else {
		ops = append(ops, map[string]any{"op": "add", "path": "/metadata/labels/" + jsonPointerEscape(key), "value": value})
	}
	patch, _ := json.Marshal(ops)
	pt := admissionv1.PatchTypeJSONPatch
	return &admissionv1.AdmissionResponse{Allowed: true, Patch: patch, PatchType: &pt}
}

func jsonPointerEscape(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '~':
			out = append(out, '~', '0')
		case '/':
			out = append(out, '~', '1')
		default:
			out = append(out, s[i])
		}
	}
	return string(out)
}

// labelOf reads one label of the object in an admission request.
func labelOf(req admissionv1.AdmissionRequest, key string) (string, bool) {
	var obj metav1.PartialObjectMetadata
	if err := json.Unmarshal(req.Object.Raw, &obj); err != nil {
		return "", false
	}
	v, found := obj.Labels[key]
	return v, found
}
