package validation

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

func pcrFixture(t *testing.T) (*certificatesv1.PodCertificateRequest, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	stub, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		t.Fatal(err)
	}
	return &certificatesv1.PodCertificateRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "ns"},
		Spec: certificatesv1.PodCertificateRequestSpec{
			SignerName: "example.com/signer", PodName: "p", PodUID: "u1", ServiceAccountName: "default", ServiceAccountUID: "u2",
			NodeName: "n", NodeUID: "u3", MaxExpirationSeconds: ptr.To[int32](86400), StubPKCS10Request: stub,
		},
	}, key
}

// issuedStatus is a status issuing a certificate for pub, valid for life from a minute ago.
func issuedStatus(t *testing.T, pub any, life time.Duration) certificatesv1.PodCertificateRequestStatus {
	t.Helper()
	ca, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	nb := time.Now().Add(-time.Minute).Truncate(time.Second)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "x"}, NotBefore: nb, NotAfter: nb.Add(life)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, ca)
	if err != nil {
		t.Fatal(err)
	}
	return certificatesv1.PodCertificateRequestStatus{
		CertificateChain: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		NotBefore:        ptr.To(metav1.NewTime(nb)), NotAfter: ptr.To(metav1.NewTime(nb.Add(life))),
		BeginRefreshAt: ptr.To(metav1.NewTime(nb.Add(life / 2))),
		Conditions:     []metav1.Condition{pcrCondition(certificatesv1.PodCertificateRequestConditionTypeIssued)},
	}
}

func pcrCondition(t string) metav1.Condition {
	return metav1.Condition{Type: t, Status: metav1.ConditionTrue, Reason: "R", LastTransitionTime: metav1.Now()}
}

func wantField(t *testing.T, errs field.ErrorList, path string) {
	t.Helper()
	for _, e := range errs {
		if strings.HasPrefix(e.Field, path) {
			return
		}
	}
	t.Errorf("want an error at %s, got %v", path, errs)
}

func TestPodCertificateRequestCreate(t *testing.T) {
	k := PodCertificateRequestKind()
	good, _ := pcrFixture(t)
	if errs := k.Validate(good); len(errs) != 0 {
		t.Fatalf("valid request: %v", errs)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaStub, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		mut  func(r *certificatesv1.PodCertificateRequest)
		path string
	}{
		"forged proof": {func(r *certificatesv1.PodCertificateRequest) {
			r.Spec.StubPKCS10Request[len(r.Spec.StubPKCS10Request)-1] ^= 1
		}, "spec.stubPKCS10Request"},
		"not a CSR":      {func(r *certificatesv1.PodCertificateRequest) { r.Spec.StubPKCS10Request = []byte("x") }, "spec.stubPKCS10Request"},
		"RSA 2048":       {func(r *certificatesv1.PodCertificateRequest) { r.Spec.StubPKCS10Request = rsaStub }, "spec.stubPKCS10Request"},
		"short lifetime": {func(r *certificatesv1.PodCertificateRequest) { r.Spec.MaxExpirationSeconds = ptr.To[int32](3599) }, "spec.maxExpirationSeconds"},
		"long lifetime":  {func(r *certificatesv1.PodCertificateRequest) { r.Spec.MaxExpirationSeconds = ptr.To[int32](7862401) }, "spec.maxExpirationSeconds"},
		"kubernetes.io long": {func(r *certificatesv1.PodCertificateRequest) {
			r.Spec.SignerName = "kubernetes.io/x"
			r.Spec.MaxExpirationSeconds = ptr.To[int32](86401)
		}, "spec.maxExpirationSeconds"},
		"no pod UID":    {func(r *certificatesv1.PodCertificateRequest) { r.Spec.PodUID = "" }, "spec.podUID"},
		"bad signer":    {func(r *certificatesv1.PodCertificateRequest) { r.Spec.SignerName = "nosigner" }, "spec.signerName"},
		"bad node name": {func(r *certificatesv1.PodCertificateRequest) { r.Spec.NodeName = "Bad_Node" }, "spec.nodeName"},
		"undomained annotation": {func(r *certificatesv1.PodCertificateRequest) {
			r.Spec.UnverifiedUserAnnotations = map[string]string{"key": "v"}
		}, "spec.unverifiedUserAnnotations"},
	} {
		t.Run(name, func(t *testing.T) {
			r := good.DeepCopy()
			c.mut(r)
			wantField(t, k.Validate(r), c.path)
		})
	}
	d := good.DeepCopy()
	d.Spec.MaxExpirationSeconds = nil
	k.Default(d)
	if d.Spec.MaxExpirationSeconds == nil || *d.Spec.MaxExpirationSeconds != 86400 {
		t.Errorf("default maxExpirationSeconds = %v, want 86400", d.Spec.MaxExpirationSeconds)
	}
	changed := good.DeepCopy()
	changed.Spec.PodName = "other"
	wantField(t, k.ValidateUpdate(changed, good), "spec")
}

func TestPodCertificateRequestStatus(t *testing.T) {
	k := PodCertificateRequestKind()
	old, key := pcrFixture(t)
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(mut func(*certificatesv1.PodCertificateRequestStatus)) *certificatesv1.PodCertificateRequest {
		n := old.DeepCopy()
		n.Status = issuedStatus(t, &key.PublicKey, time.Hour)
		if mut != nil {
			mut(&n.Status)
		}
		return n
	}
	if errs := k.ValidateStatusUpdate(issue(nil), old); len(errs) != 0 {
		t.Fatalf("a valid issuance: %v", errs)
	}
	for name, c := range map[string]struct {
		n    *certificatesv1.PodCertificateRequest
		path string
	}{
		"another key": {func() *certificatesv1.PodCertificateRequest {
			n := old.DeepCopy()
			n.Status = issuedStatus(t, &other.PublicKey, time.Hour)
			return n
		}(), "status.certificateChain"},
		"too short": {func() *certificatesv1.PodCertificateRequest {
			n := old.DeepCopy()
			n.Status = issuedStatus(t, &key.PublicKey, 30*time.Minute)
			return n
		}(), "status"},
		"notBefore differs": {issue(func(s *certificatesv1.PodCertificateRequestStatus) {
			s.NotBefore = ptr.To(metav1.NewTime(s.NotBefore.Add(time.Second)))
		}), "status.notBefore"},
		"refresh too early": {issue(func(s *certificatesv1.PodCertificateRequestStatus) { s.BeginRefreshAt = s.NotBefore }), "status.beginRefreshAt"},
		"two terminal conditions": {issue(func(s *certificatesv1.PodCertificateRequestStatus) {
			s.Conditions = append(s.Conditions, pcrCondition(certificatesv1.PodCertificateRequestConditionTypeDenied))
		}), "status.conditions[1].type"},
		"denied with a chain": {issue(func(s *certificatesv1.PodCertificateRequestStatus) {
			s.Conditions = []metav1.Condition{pcrCondition(certificatesv1.PodCertificateRequestConditionTypeDenied)}
		}), "status"},
		"unknown condition": {issue(func(s *certificatesv1.PodCertificateRequestStatus) {
			s.Conditions = []metav1.Condition{pcrCondition("Approved")}
		}), "status.conditions[0].type"},
	} {
		t.Run(name, func(t *testing.T) { wantField(t, k.ValidateStatusUpdate(c.n, old), c.path) })
	}
	denied := old.DeepCopy()
	denied.Status.Conditions = []metav1.Condition{pcrCondition(certificatesv1.PodCertificateRequestConditionTypeDenied)}
	wantField(t, k.ValidateStatusUpdate(issue(nil), denied), "status")
}

func TestPodCertificateProjectionBounds(t *testing.T) {
	pv := &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{{PodCertificate: &corev1.PodCertificateProjection{
		SignerName: "example.com/s", KeyType: "ECDSAP256", CredentialBundlePath: "c.pem",
	}}}}
	if errs := validateProjectedPodCertificates(pv, field.NewPath("p")); len(errs) != 0 {
		t.Fatalf("valid projection: %v", errs)
	}
	for secs, msg := range map[int32]string{3599: "if provided, maxExpirationSeconds must be >= 3600", 7862401: "if provided, maxExpirationSeconds must be <= 7862400"} {
		pv.Sources[0].PodCertificate.MaxExpirationSeconds = ptr.To(secs)
		errs := validateProjectedPodCertificates(pv, field.NewPath("p"))
		if len(errs) != 1 || !strings.Contains(errs.ToAggregate().Error(), msg) {
			t.Errorf("maxExpirationSeconds %d: %v, want %q", secs, errs, msg)
		}
	}
	pv.Sources[0].PodCertificate.MaxExpirationSeconds = nil
	pv.Sources[0].PodCertificate.KeyType = "RSA2048"
	wantField(t, validateProjectedPodCertificates(pv, field.NewPath("p")), "p.sources[0].podCertificate.keyType")
}
