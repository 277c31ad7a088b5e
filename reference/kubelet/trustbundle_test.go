package kubelet

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func testCertPEM(t *testing.T, cn string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func TestClusterTrustBundleProjection(t *testing.T) {
	ctx := context.Background()
	k, client, _ := volumeKubelet(t)
	a, b := testCertPEM(t, "a"), testCertPEM(t, "b")
	for _, ctb := range []*certificatesv1.ClusterTrustBundle{
		{ObjectMeta: metav1.ObjectMeta{Name: "plain"}, Spec: certificatesv1.ClusterTrustBundleSpec{TrustBundle: a}},
		{ObjectMeta: metav1.ObjectMeta{Name: "example.com:signer:one", Labels: map[string]string{"team": "x"}}, Spec: certificatesv1.ClusterTrustBundleSpec{SignerName: "example.com/signer", TrustBundle: a + b}},
		{ObjectMeta: metav1.ObjectMeta{Name: "example.com:signer:two", Labels: map[string]string{"team": "x"}}, Spec: certificatesv1.ClusterTrustBundleSpec{SignerName: "example.com/signer", TrustBundle: b}},
	} {
		if _, err := client.CertificatesV1().ClusterTrustBundles().Create(ctx, ctb, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	w := newPodWorker(k, volumePod(), false)
	payload := map[string]volumeFile{}
	if err := w.trustBundleFile(ctx, &corev1.ClusterTrustBundleProjection{Name: ptr.To("plain"), Path: "by-name.pem"}, 0o644, payload); err != nil {
		t.Fatal(err)
	}
	if string(payload["by-name.pem"].data) != a {
		t.Errorf("by name: %q", payload["by-name.pem"].data)
	}
	sel := &corev1.ClusterTrustBundleProjection{SignerName: ptr.To("example.com/signer"), LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "x"}}, Path: "by-signer.pem"}
	if err := w.trustBundleFile(ctx, sel, 0o644, payload); err != nil {
		t.Fatal(err)
	}
	got := string(payload["by-signer.pem"].data)
	if strings.Count(got, "BEGIN CERTIFICATE") != 2 || !strings.Contains(got, a) || !strings.Contains(got, b) {
		t.Errorf("by signer: the two certificates once each, got %q", got)
	}
	if err := w.trustBundleFile(ctx, &corev1.ClusterTrustBundleProjection{Name: ptr.To("absent"), Path: "x"}, 0o644, payload); err == nil {
		t.Error("a missing bundle that is not optional was accepted")
	}
	if err := w.trustBundleFile(ctx, &corev1.ClusterTrustBundleProjection{Name: ptr.To("absent"), Optional: ptr.To(true), Path: "opt"}, os.FileMode(0o644), payload); err != nil || len(payload["opt"].data) != 0 {
		t.Errorf("an optional missing bundle: %v %q", err, payload["opt"].data)
	}
	if err := w.trustBundleFile(ctx, &corev1.ClusterTrustBundleProjection{SignerName: ptr.To("example.com/signer"), Path: "none"}, 0o644, payload); err == nil {
		t.Error("a signer without a labelSelector matches nothing and is not optional")
	}
}
