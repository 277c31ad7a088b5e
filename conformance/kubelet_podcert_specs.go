package conformance

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"time"

	"github.com/onsi/gomega"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/utils/ptr"
)

// srcPodCertificateProjection is where the kubelet's pod certificate behaviour comes from.
const srcPodCertificateProjection = "Kubernetes: projected volumes, podCertificate (kubernetes.io/docs/concepts/storage/projected-volumes/#podcertificate) and PodCertificateRequests (kubernetes.io/docs/reference/access-authn-authz/certificate-signing-requests/#pod-certificate-requests); upstream e2e auth/projected_podcertificate.go, whose in-process signer the spec plays"

func kubeletPodCertificateSpecs() []spec[*kubeletEnv] {
	return []spec[*kubeletEnv]{
		{kubeletBehavior("kubelet.volumes.pod-certificate",
			"for a projected podCertificate source the kubelet MUST create a PodCertificateRequest for the pod (its name, UID, ServiceAccount and node, the source's signer) whose stub PKCS#10 request carries a key of the source's keyType, MUST NOT start the pod's container until the request is Issued, and then MUST write credentialBundlePath (the PKCS#8 private key of that public key, then the issued chain), keyPath and certificateChainPath",
			srcPodCertificateProjection), specPodCertificateProjection},
	}
}

func specPodCertificateProjection(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	signer := "conformance.clusterkit.io/" + e.ns
	_, err := e.client.CoreV1().ServiceAccounts(e.ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "pc-sa"}}, metav1.CreateOptions{})
	ok(g, err, "creating the ServiceAccount")
	p := e.testPod("pc", "serve-hostname")
	p.Spec.ServiceAccountName, p.Spec.AutomountServiceAccountToken = "pc-sa", ptr.To(false)
	p.Spec.Volumes = []corev1.Volume{{Name: "certs", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		Sources: []corev1.VolumeProjection{{PodCertificate: &corev1.PodCertificateProjection{
			SignerName: signer, KeyType: "ECDSAP256", MaxExpirationSeconds: ptr.To[int32](3600),
			CredentialBundlePath: "creds.pem", KeyPath: "key.pem", CertificateChainPath: "chain.pem",
		}}},
	}}}}
	p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "certs", MountPath: "/etc/pc"}}
	pod := e.create(ctx, g, p)

	// The kubelet's request.
	pcrs := e.client.CertificatesV1().PodCertificateRequests(e.ns)
	var req *certificatesv1.PodCertificateRequest
	g.Eventually(func() int {
		list, err := pcrs.List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("spec.podName", "pc").String()})
		if err != nil || len(list.Items) == 0 {
			return 0
		}
		req = &list.Items[0]
		return len(list.Items)
	}).WithContext(ctx).WithTimeout(startTimeout).WithPolling(500*time.Millisecond).ShouldNot(gomega.BeZero(), "a PodCertificateRequest for pod pc")
	g.Expect(req.Spec.SignerName).To(gomega.Equal(signer), "the request's signer")
	g.Expect(req.Spec.PodUID).To(gomega.Equal(pod.UID), "the request's pod UID")
	g.Expect(req.Spec.ServiceAccountName).To(gomega.Equal("pc-sa"), "the request's ServiceAccount")
	g.Expect(string(req.Spec.NodeName)).To(gomega.Equal(e.k.Node), "the request's node")
	csr, err := x509.ParseCertificateRequest(req.Spec.StubPKCS10Request)
	ok(g, err, "parsing the request's stub PKCS#10 request")
	pub, isEC := csr.PublicKey.(*ecdsa.PublicKey)
	g.Expect(isEC && pub.Curve == elliptic.P256()).To(gomega.BeTrue(), "an ECDSAP256 source's key must be ECDSA P-256, got %T", csr.PublicKey)

	// Not started before issuance.
	for range 3 {
		got, err := e.client.CoreV1().Pods(e.ns).Get(ctx, "pc", metav1.GetOptions{})
		ok(g, err, "reading the pod")
		g.Expect(got.Status.Phase).To(gomega.Equal(corev1.PodPending), "a pod whose certificate is not issued: %s", describeStatus(got))
		if len(got.Status.ContainerStatuses) > 0 {
			g.Expect(got.Status.ContainerStatuses[0].State.Running).To(gomega.BeNil(), "a pod whose certificate is not issued: %s", describeStatus(got))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}

	// The spec signs, as upstream's e2e signer does.
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ok(g, err, "making the CA key")
	nb := time.Now().Add(-time.Minute).Truncate(time.Second)
	na := nb.Add(time.Hour)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "conformance-ca"}, NotBefore: nb, NotAfter: na.Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	ok(g, err, "making the CA certificate")
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "pc"}, NotBefore: nb, NotAfter: na, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, pub, caKey)
	ok(g, err, "signing the pod's certificate")
	chain := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER})) + string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))
	req.Status = certificatesv1.PodCertificateRequestStatus{
		CertificateChain: chain,
		NotBefore:        ptr.To(metav1.NewTime(nb)), NotAfter: ptr.To(metav1.NewTime(na)), BeginRefreshAt: ptr.To(metav1.NewTime(nb.Add(30 * time.Minute))),
		Conditions: []metav1.Condition{{Type: certificatesv1.PodCertificateRequestConditionTypeIssued, Status: metav1.ConditionTrue,
			Reason: "Conformance", Message: "issued by the conformance suite", LastTransitionTime: metav1.Now()}},
	}
	_, err = pcrs.UpdateStatus(ctx, req, metav1.UpdateOptions{})
	ok(g, err, "issuing the request")

	e.waitPod(ctx, g, "pc", "Running once the certificate is issued", startTimeout, isRunning)
	bundle := e.cat(ctx, g, "pc", "/etc/pc/creds.pem")
	block, rest := pem.Decode([]byte(bundle))
	g.Expect(block).NotTo(gomega.BeNil(), "creds.pem must start with a PEM block: %q", bundle)
	g.Expect(block.Type).To(gomega.Equal("PRIVATE KEY"), "the first block of creds.pem")
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	ok(g, err, "parsing the PKCS#8 key of creds.pem")
	priv, isECKey := key.(*ecdsa.PrivateKey)
	g.Expect(isECKey && priv.PublicKey.Equal(pub)).To(gomega.BeTrue(), "the key of creds.pem must be the private key of the requested public key")
	g.Expect(string(rest)).To(gomega.Equal(chain), "creds.pem after the key must be the issued chain")
	g.Expect(e.cat(ctx, g, "pc", "/etc/pc/chain.pem")).To(gomega.Equal(chain), "chain.pem")
	g.Expect(e.cat(ctx, g, "pc", "/etc/pc/key.pem")).To(gomega.Equal(string(pem.EncodeToMemory(block))), "key.pem")
}
