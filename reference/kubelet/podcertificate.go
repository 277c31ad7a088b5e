package kubelet

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strconv"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Pod certificates (projected podCertificate sources). For each source the kubelet makes a
// private key of the source's keyType and a PodCertificateRequest for the pod whose
// spec.stubPKCS10Request is an empty PKCS#10 request signed with that key (the proof of
// possession). Until a signer marks the request Issued the volume cannot be set up, so the
// pod's containers are not created (a FailedMount event says why); Denied or Failed is final
// for the pod. Once issued the files are written — credentialBundlePath holds the PKCS#8 key
// then the chain, keyPath and certificateChainPath each one — and after the request's
// beginRefreshAt a new key and request are made while the old credential stays in place.

// podCert is the state of one podCertificate source of a pod.
type podCert struct {
	// key and chain are the issued credential (PEM), refreshAt its status.beginRefreshAt.
	key       []byte
	chain     []byte
	refreshAt time.Time
	// pending is the name of the request in flight and pendingKey its private key (PEM).
	pending    string
	pendingKey []byte
	// final is the error of a Denied or Failed request when nothing was ever issued.
	final error
}

// podCertificateFiles adds the files of a podCertificate source (source index idx of volume
// volume) to payload.
func (w *podWorker) podCertificateFiles(ctx context.Context, pod *corev1.Pod, volume string, idx int, pc *corev1.PodCertificateProjection, def os.FileMode, payload map[string]volumeFile, now time.Time) error {
	if w.podCerts == nil {
		w.podCerts = map[string]*podCert{}
	}
	key := volume + "/" + strconv.Itoa(idx)
	st := w.podCerts[key]
	if st == nil {
		st = &podCert{}
		w.podCerts[key] = st
	}
	if st.final != nil {
		return st.final
	}
	if st.pending != "" {
		if err := w.pollPodCertificate(ctx, pod, st); err != nil {
			return err
		}
	}
	if st.pending == "" && st.final == nil && (st.chain == nil || now.After(st.refreshAt)) {
		if err := w.requestPodCertificate(ctx, pod, pc, st); err != nil {
			if st.chain == nil {
				return err
			}
			w.k.logf("pod %s/%s: refreshing the pod certificate of volume %s: %v", pod.Namespace, pod.Name, volume, err)
		}
	}
	if st.final != nil {
		return st.final
	}
	if st.chain == nil {
		return fmt.Errorf("no credentials yet; waiting for PodCertificateRequest %s/%s to be issued by %s", pod.Namespace, st.pending, pc.SignerName)
	}
	if pc.CredentialBundlePath != "" {
		payload[pc.CredentialBundlePath] = volumeFile{data: append(append([]byte(nil), st.key...), st.chain...), mode: def}
	}
	if pc.KeyPath != "" {
		payload[pc.KeyPath] = volumeFile{data: st.key, mode: def}
	}
	if pc.CertificateChainPath != "" {
		payload[pc.CertificateChainPath] = volumeFile{data: st.chain, mode: def}
	}
	return nil
}

// pollPodCertificate reads the pending request: Issued makes it the credential, Denied or
// Failed ends the source (unless a credential was issued before), gone means asking again.
func (w *podWorker) pollPodCertificate(ctx context.Context, pod *corev1.Pod, st *podCert) error {
	req, err := w.k.client.CertificatesV1().PodCertificateRequests(pod.Namespace).Get(ctx, st.pending, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		st.pending, st.pendingKey = "", nil
		return nil
	}
	if err != nil {
		return fmt.Errorf("while reading PodCertificateRequest %s/%s: %w", pod.Namespace, st.pending, err)
	}
	for _, c := range req.Status.Conditions {
		if c.Status != metav1.ConditionTrue {
			continue
		}
		switch c.Type {
		case certificatesv1.PodCertificateRequestConditionTypeIssued:
			chain, err := cleanChain(req.Status.CertificateChain)
			if err != nil {
				return fmt.Errorf("PodCertificateRequest %s/%s: %w", pod.Namespace, req.Name, err)
			}
			st.key, st.chain = st.pendingKey, chain
			st.refreshAt = req.Status.NotAfter.Time
			if req.Status.BeginRefreshAt != nil {
				st.refreshAt = req.Status.BeginRefreshAt.Time
			}
			st.pending, st.pendingKey = "", nil
			return nil
		case certificatesv1.PodCertificateRequestConditionTypeDenied, certificatesv1.PodCertificateRequestConditionTypeFailed:
			verb := "denied"
			if c.Type == certificatesv1.PodCertificateRequestConditionTypeFailed {
				verb = "failed"
			}
			err := fmt.Errorf("PodCertificateRequest %s/%s was %s: %s: %s", pod.Namespace, req.Name, verb, c.Reason, c.Message)
			st.pending, st.pendingKey = "", nil
			if st.chain == nil {
				st.final = err
			}
			return err
		}
	}
	return nil
}

// requestPodCertificate makes a key and creates the PodCertificateRequest for it.
func (w *podWorker) requestPodCertificate(ctx context.Context, pod *corev1.Pod, pc *corev1.PodCertificateProjection, st *podCert) error {
	saName := pod.Spec.ServiceAccountName
	if saName == "" {
		saName = "default"
	}
	sa, err := w.k.client.CoreV1().ServiceAccounts(pod.Namespace).Get(ctx, saName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("while fetching service account: %w", err)
	}
	node, err := w.k.client.CoreV1().Nodes().Get(ctx, w.k.cfg.NodeName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("while getting node object: %w", err)
	}
	priv, err := generatePodKey(pc.KeyType)
	if err != nil {
		return err
	}
	stub, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, priv)
	if err != nil {
		return fmt.Errorf("while signing the stub PKCS#10 request: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return fmt.Errorf("while marshaling key to PKCS#8: %w", err)
	}
	req := &certificatesv1.PodCertificateRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, GenerateName: "req-" + pod.Name + "-"},
		Spec: certificatesv1.PodCertificateRequestSpec{
			SignerName: pc.SignerName,
			PodName:    pod.Name, PodUID: pod.UID,
			ServiceAccountName: saName, ServiceAccountUID: sa.UID,
			NodeName: types.NodeName(w.k.cfg.NodeName), NodeUID: node.UID,
			MaxExpirationSeconds:      pc.MaxExpirationSeconds,
			StubPKCS10Request:         stub,
			UnverifiedUserAnnotations: pc.UserAnnotations,
		},
	}
	created, err := w.k.client.CertificatesV1().PodCertificateRequests(pod.Namespace).Create(ctx, req, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("while creating PodCertificateRequest: %w", err)
	}
	st.pending, st.pendingKey = created.Name, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	return nil
}

// generatePodKey makes a private key of a podCertificate keyType.
func generatePodKey(keyType string) (crypto.Signer, error) {
	switch keyType {
	case "RSA3072":
		return rsa.GenerateKey(rand.Reader, 3072)
	case "RSA4096":
		return rsa.GenerateKey(rand.Reader, 4096)
	case "ECDSAP256":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ECDSAP384":
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "ECDSAP521":
		return ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case "ED25519":
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	}
	return nil, fmt.Errorf("unknown key type %q", keyType)
}

// cleanChain re-encodes the CERTIFICATE blocks of a chain, dropping headers and whatever lies
// between the blocks.
func cleanChain(chain string) ([]byte, error) {
	var out bytes.Buffer
	rest := []byte(chain)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		if err := pem.Encode(&out, &pem.Block{Type: "CERTIFICATE", Bytes: b.Bytes}); err != nil {
			return nil, err
		}
	}
	if out.Len() == 0 {
		return nil, fmt.Errorf("the issued certificate chain holds no certificate")
	}
	return out.Bytes(), nil
}
