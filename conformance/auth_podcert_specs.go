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
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// srcPodCertificates is where the PodCertificateRequest behaviours come from.
const srcPodCertificates = "Kubernetes: Certificates and Certificate Signing Requests, PodCertificateRequests (kubernetes.io/docs/reference/access-authn-authz/certificate-signing-requests/#pod-certificate-requests), pkg/apis/certificates/validation, pkg/registry/certificates/podcertificaterequest"

// podCertificateSpecs are the certificates.k8s.io/v1 PodCertificateRequest behaviours: what
// the API server accepts of a request and of a signer's status write, who may issue, and
// which requests a kubelet may make.
func podCertificateSpecs() []spec[*authEnv] {
	return []spec[*authEnv]{
		{auth("auth.pcr.proof-of-possession", "a PodCertificateRequest whose spec.stubPKCS10Request signature does not verify with the request's own public key MUST be rejected with 422 naming spec.stubPKCS10Request and store nothing, while the same request correctly signed MUST be accepted", srcPodCertificates), specPCRProofOfPossession},
		{auth("auth.pcr.max-expiration", "a PodCertificateRequest MUST be rejected with 422 naming spec.maxExpirationSeconds when it asks for less than 3600 seconds, more than 7862400, or more than 86400 for a kubernetes.io signer, and one without it MUST be stored with 86400", srcPodCertificates), specPCRMaxExpiration},
		{auth("auth.pcr.spec-immutable", "an update of a PodCertificateRequest that changes its spec MUST be rejected with 422 and leave the stored spec as it was", srcPodCertificates), specPCRSpecImmutable},
		{auth("auth.pcr.issued-to-requested-key", "a status write issuing a PodCertificateRequest a certificate whose public key is not the request's MUST be rejected with 422 naming status.certificateChain, while a certificate for the requested key with notBefore, notAfter and beginRefreshAt consistent with it MUST be accepted", srcPodCertificates), specPCRIssuedToRequestedKey},
		{auth("auth.pcr.terminal", "a PodCertificateRequest's status MUST NOT change once it is Denied: a later status write that issues it is rejected with 422 and the stored status keeps only the Denied condition", srcPodCertificates), specPCRTerminal},
		{auth("auth.pcr.sign-permission", "a status write that sets a PodCertificateRequest's certificateChain MUST be refused to a user allowed to update podcertificaterequests/status but not to \"sign\" the request's signer (certificates.k8s.io signers), and MUST be accepted once the user may sign it", srcPodCertificates), specPCRSignPermission},
		{auth("auth.pcr.node-own-pods", "a kubelet (system:node:<name>) MUST be refused (403) the creation of a PodCertificateRequest for a pod bound to another node or for a pod that mounts no podCertificate volume of the request's signer, and MUST be allowed it for a pod bound to its own node that mounts one, naming that node, pod and ServiceAccount by name and UID", srcNodeRestriction+"; "+srcPodCertificates), specPCRNodeOwnPods},
		{auth("auth.pcr.projection-bounds", "a pod whose projected podCertificate source asks for maxExpirationSeconds above 7862400 or below 3600 MUST be rejected with 422 naming that source's maxExpirationSeconds", srcPodCertificates), specPCRProjectionBounds},
	}
}

// pcrSigner is the signer name of a spec's requests.
func (e *authEnv) pcrSigner() string { return "conformance.clusterkit.io/" + e.ns }

// stubRequest makes a P-256 key and the empty PKCS#10 request it signs.
func stubRequest(g gomega.Gomega) (*ecdsa.PrivateKey, []byte) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred())
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred())
	return key, der
}

// newPCR is a request of the spec's signer for a pod that need not exist.
func (e *authEnv) newPCR(name string, stub []byte) *certificatesv1.PodCertificateRequest {
	return &certificatesv1.PodCertificateRequest{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: certificatesv1.PodCertificateRequestSpec{
			SignerName: e.pcrSigner(),
			PodName:    "pod-" + name, PodUID: "00000000-0000-0000-0000-000000000001",
			ServiceAccountName: "default", ServiceAccountUID: "00000000-0000-0000-0000-000000000002",
			NodeName: types.NodeName("node-" + name), NodeUID: "00000000-0000-0000-0000-000000000003",
			StubPKCS10Request: stub,
		},
	}
}

// issue fills a request's status as a signer does: a certificate for pub valid for an hour
// from a minute ago (whole seconds, as the API's times are), Issued.
func issue(g gomega.Gomega, r *certificatesv1.PodCertificateRequest, pub any) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred())
	nb := time.Now().Add(-time.Minute).Truncate(time.Second)
	na := nb.Add(time.Hour)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "conformance"},
		NotBefore: nb, NotAfter: na, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "conformance-ca"}, NotBefore: nb, NotAfter: na.Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, pub, caKey)
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred())
	r.Status.CertificateChain = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	r.Status.NotBefore, r.Status.NotAfter = ptr.To(metav1.NewTime(nb)), ptr.To(metav1.NewTime(na))
	r.Status.BeginRefreshAt = ptr.To(metav1.NewTime(nb.Add(30 * time.Minute)))
	r.Status.Conditions = []metav1.Condition{{Type: certificatesv1.PodCertificateRequestConditionTypeIssued, Status: metav1.ConditionTrue,
		Reason: "Conformance", Message: "issued by the conformance suite", LastTransitionTime: metav1.Now()}}
}

func specPCRProofOfPossession(ctx context.Context, g gomega.Gomega, e *authEnv) {
	api := e.admin.CertificatesV1().PodCertificateRequests(e.ns)
	_, stub := stubRequest(g)
	bad := append([]byte(nil), stub...)
	bad[len(bad)-1] ^= 0xff // the last byte of the signature
	_, err := api.Create(ctx, e.newPCR("forged", bad), metav1.CreateOptions{})
	expectInvalid(g, err, "a request whose proof of possession does not verify", "spec.stubPKCS10Request")
	_, err = api.Get(ctx, "forged", metav1.GetOptions{})
	g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "the rejected request must not be stored, got %v", err)
	_, err = api.Create(ctx, e.newPCR("genuine", stub), metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred(), "the correctly signed request")
}

func specPCRMaxExpiration(ctx context.Context, g gomega.Gomega, e *authEnv) {
	api := e.admin.CertificatesV1().PodCertificateRequests(e.ns)
	_, stub := stubRequest(g)
	for _, c := range []struct {
		name   string
		signer string
		secs   int32
	}{
		{"short", "", 3599},
		{"long", "", 7862401},
		{"kube-long", "kubernetes.io/kube-apiserver-client-pod", 86401},
	} {
		r := e.newPCR(c.name, stub)
		if c.signer != "" {
			r.Spec.SignerName = c.signer
		}
		r.Spec.MaxExpirationSeconds = ptr.To(c.secs)
		_, err := api.Create(ctx, r, metav1.CreateOptions{})
		expectInvalid(g, err, "a request for "+r.Spec.SignerName+" with maxExpirationSeconds "+c.name, "spec.maxExpirationSeconds")
	}
	got, err := api.Create(ctx, e.newPCR("default", stub), metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred(), "a request without maxExpirationSeconds")
	g.Expect(got.Spec.MaxExpirationSeconds).To(gomega.HaveValue(gomega.BeEquivalentTo(86400)), "the defaulted maxExpirationSeconds")
}

func specPCRSpecImmutable(ctx context.Context, g gomega.Gomega, e *authEnv) {
	api := e.admin.CertificatesV1().PodCertificateRequests(e.ns)
	_, stub := stubRequest(g)
	r, err := api.Create(ctx, e.newPCR("fixed", stub), metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	r.Spec.PodName = "another-pod"
	_, err = api.Update(ctx, r, metav1.UpdateOptions{})
	expectInvalidUnder(g, err, "changing spec.podName", "spec")
	got, err := api.Get(ctx, r.Name, metav1.GetOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	g.Expect(got.Spec.PodName).To(gomega.Equal("pod-fixed"), "the stored spec.podName")
}

func specPCRIssuedToRequestedKey(ctx context.Context, g gomega.Gomega, e *authEnv) {
	api := e.admin.CertificatesV1().PodCertificateRequests(e.ns)
	key, stub := stubRequest(g)
	r, err := api.Create(ctx, e.newPCR("issued", stub), metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	other, _ := stubRequest(g)
	wrong := r.DeepCopy()
	issue(g, wrong, &other.PublicKey)
	_, err = api.UpdateStatus(ctx, wrong, metav1.UpdateOptions{})
	expectInvalid(g, err, "issuing a certificate for another key", "status.certificateChain")
	right := r.DeepCopy()
	issue(g, right, &key.PublicKey)
	got, err := api.UpdateStatus(ctx, right, metav1.UpdateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred(), "issuing a certificate for the requested key")
	g.Expect(got.Status.CertificateChain).To(gomega.Equal(right.Status.CertificateChain), "the stored chain")
}

func specPCRTerminal(ctx context.Context, g gomega.Gomega, e *authEnv) {
	api := e.admin.CertificatesV1().PodCertificateRequests(e.ns)
	key, stub := stubRequest(g)
	r, err := api.Create(ctx, e.newPCR("denied", stub), metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	r.Status.Conditions = []metav1.Condition{{Type: certificatesv1.PodCertificateRequestConditionTypeDenied, Status: metav1.ConditionTrue,
		Reason: "Conformance", Message: "denied by the conformance suite", LastTransitionTime: metav1.Now()}}
	r, err = api.UpdateStatus(ctx, r, metav1.UpdateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred(), "denying the request")
	issue(g, r, &key.PublicKey)
	_, err = api.UpdateStatus(ctx, r, metav1.UpdateOptions{})
	expectInvalidUnder(g, err, "issuing a denied request", "status")
	got, err := api.Get(ctx, r.Name, metav1.GetOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	g.Expect(got.Status.CertificateChain).To(gomega.BeEmpty(), "the denied request's chain")
	g.Expect(got.Status.Conditions).To(gomega.HaveLen(1), "the denied request's conditions")
	g.Expect(got.Status.Conditions[0].Type).To(gomega.Equal(certificatesv1.PodCertificateRequestConditionTypeDenied))
}

func specPCRSignPermission(ctx context.Context, g gomega.Gomega, e *authEnv) {
	key, stub := stubRequest(g)
	r, err := e.admin.CertificatesV1().PodCertificateRequests(e.ns).Create(ctx, e.newPCR("signed", stub), metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	signer := e.user("signer")
	e.createRole(ctx, g, e.ns, "pcr-status", policyRule([]string{"get", "update", "patch"}, certificatesv1.GroupName, "podcertificaterequests", "podcertificaterequests/status"))
	e.bindRole(ctx, g, e.ns, "pcr-status", "Role", "pcr-status", userSubj(signer))
	api := e.as(g, signer).CertificatesV1().PodCertificateRequests(e.ns)
	issue(g, r, &key.PublicKey)
	eventuallyAllowed(ctx, g, "the signer reading the request", func() error {
		_, err := api.Get(ctx, r.Name, metav1.GetOptions{})
		return err
	})
	_, err = api.UpdateStatus(ctx, r, metav1.UpdateOptions{})
	g.Expect(err).To(gomega.HaveOccurred(), "issuing without the sign permission must be refused")
	g.Expect(apierrors.IsForbidden(err) || apierrors.IsInvalid(err)).To(gomega.BeTrue(), "issuing without the sign permission: expected 403 or 422, got %v", err)
	got, err := e.admin.CertificatesV1().PodCertificateRequests(e.ns).Get(ctx, r.Name, metav1.GetOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	g.Expect(got.Status.CertificateChain).To(gomega.BeEmpty(), "the chain after the refused write")
	e.createClusterRole(ctx, g, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: e.ns + "-sign"}, Rules: []rbacv1.PolicyRule{{
		Verbs: []string{"sign"}, APIGroups: []string{certificatesv1.GroupName}, Resources: []string{"signers"}, ResourceNames: []string{e.pcrSigner()},
	}}})
	e.bindClusterRole(ctx, g, e.ns+"-sign", e.ns+"-sign", userSubj(signer))
	g.Eventually(func() error {
		_, err := api.UpdateStatus(ctx, r, metav1.UpdateOptions{})
		return err
	}).WithContext(ctx).WithTimeout(rbacGrantWait).WithPolling(300*time.Millisecond).Should(gomega.Succeed(), "issuing once the user may sign for %s", e.pcrSigner())
}

func specPCRNodeOwnPods(ctx context.Context, g gomega.Gomega, e *authEnv) {
	mine, other := e.fakeNode(ctx, g, "a"), e.fakeNode(ctx, g, "b")
	certs := corev1.Volume{Name: "certs", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		Sources: []corev1.VolumeProjection{{PodCertificate: &corev1.PodCertificateProjection{
			SignerName: e.pcrSigner(), KeyType: "ECDSAP256", CredentialBundlePath: "creds.pem",
		}}},
	}}}
	here, elsewhere := e.boundPod(ctx, g, "here", mine, certs), e.boundPod(ctx, g, "elsewhere", other, certs)
	unmounted := e.boundPod(ctx, g, "unmounted", mine)
	kubelet := e.kubelet(g, mine)
	request := func(pod *corev1.Pod, node string) error {
		n, err := e.admin.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		sa, err := e.admin.CoreV1().ServiceAccounts(e.ns).Get(ctx, pod.Spec.ServiceAccountName, metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		_, stub := stubRequest(g)
		r := &certificatesv1.PodCertificateRequest{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "req-" + pod.Name + "-"},
			Spec: certificatesv1.PodCertificateRequestSpec{
				SignerName: e.pcrSigner(), PodName: pod.Name, PodUID: pod.UID,
				ServiceAccountName: sa.Name, ServiceAccountUID: sa.UID,
				NodeName: types.NodeName(node), NodeUID: n.UID, StubPKCS10Request: stub,
			},
		}
		_, err = kubelet.CertificatesV1().PodCertificateRequests(e.ns).Create(ctx, r, metav1.CreateOptions{})
		return err
	}
	expectOutcome(g, "forbidden", "the kubelet of "+mine+" requesting a certificate for a pod on "+other+" (naming that node)", request(elsewhere, other))
	expectOutcome(g, "forbidden", "the kubelet of "+mine+" requesting a certificate for a pod on "+other+" (naming its own node)", request(elsewhere, mine))
	expectOutcome(g, "forbidden", "the kubelet of "+mine+" requesting a certificate for a pod on its node that mounts no podCertificate volume of the signer", request(unmounted, mine))
	g.Eventually(func() error { return request(here, mine) }).WithContext(ctx).WithTimeout(rbacGrantWait).WithPolling(300*time.Millisecond).
		Should(gomega.Succeed(), "the kubelet requesting a certificate for a pod bound to its node")
}

func specPCRProjectionBounds(ctx context.Context, g gomega.Gomega, e *authEnv) {
	for _, secs := range []int32{7862401, 3599} {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "pc-bounds-"},
			Spec: corev1.PodSpec{
				AutomountServiceAccountToken: ptr.To(false),
				Containers:                   []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10.2"}},
				Volumes: []corev1.Volume{{Name: "certs", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
					Sources: []corev1.VolumeProjection{{PodCertificate: &corev1.PodCertificateProjection{
						SignerName: e.pcrSigner(), KeyType: "ECDSAP256", CredentialBundlePath: "creds.pem", MaxExpirationSeconds: ptr.To(secs),
					}}},
				}}}},
			},
		}
		_, err := e.admin.CoreV1().Pods(e.ns).Create(ctx, pod, metav1.CreateOptions{})
		expectInvalid(g, err, "a podCertificate projection with maxExpirationSeconds out of range", "spec.volumes[0].projected.sources[0].podCertificate.maxExpirationSeconds")
	}
}
