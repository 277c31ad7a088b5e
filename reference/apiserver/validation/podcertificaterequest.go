package validation

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/mail"
	"strings"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// PodCertificateRequest lifetimes (spec.maxExpirationSeconds): at least an hour, at most 91
// days, at most 24 hours for the kubernetes.io signers; 24 hours when unset.
const (
	PCRMinMaxExpirationSeconds           = 3600
	PCRMaxMaxExpirationSeconds           = 91 * 24 * 3600
	PCRKubernetesMaxMaxExpirationSeconds = 24 * 3600
	PCRDefaultMaxExpirationSeconds       = 24 * 3600
)

// maxCertificateChainSize bounds status.certificateChain.
const maxCertificateChainSize = 100 * 1024

// pcrTerminal are the condition types that end a PodCertificateRequest.
var pcrTerminal = []string{
	certificatesv1.PodCertificateRequestConditionTypeIssued,
	certificatesv1.PodCertificateRequestConditionTypeDenied,
	certificatesv1.PodCertificateRequestConditionTypeFailed,
}

// PodCertificateRequestKind is the strategy of certificates.k8s.io/v1 PodCertificateRequest,
// as kube-apiserver's: the spec names the pod, its ServiceAccount and node (names and UIDs),
// a signer, a lifetime bound and a PKCS#10 request whose signature proves possession of the
// key; the spec never changes; status writes (the signer's) move the request once into one
// of Issued (with a certificate chain for the requested key and consistent times), Denied or
// Failed, after which the status never changes.
func PodCertificateRequestKind() *Kind[*certificatesv1.PodCertificateRequest] {
	return &Kind[*certificatesv1.PodCertificateRequest]{
		Defaults: func(r *certificatesv1.PodCertificateRequest) {
			if r.Spec.MaxExpirationSeconds == nil {
				v := int32(PCRDefaultMaxExpirationSeconds)
				r.Spec.MaxExpirationSeconds = &v
			}
		},
		Create: validatePCR,
		Update: func(n, o *certificatesv1.PodCertificateRequest) field.ErrorList {
			return apimachineryvalidation.ValidateImmutableField(n.Spec, o.Spec, specPath)
		},
		Status: func(n, o *certificatesv1.PodCertificateRequest) field.ErrorList {
			return validatePCRStatus(n, o, time.Now())
		},
		PrepareCreate: func(r *certificatesv1.PodCertificateRequest) { r.Status = certificatesv1.PodCertificateRequestStatus{} },
		PrepareUpdate: func(n, o *certificatesv1.PodCertificateRequest) { n.Status = o.Status },
		PrepareStatus: preparePCRStatus,
	}
}

// preparePCRStatus keeps the spec, keeps the stored instances of the terminal conditions
// when a write keeps their number, and stamps a condition without lastTransitionTime with
// the stored one of the same type and status, or now.
func preparePCRStatus(n, o *certificatesv1.PodCertificateRequest) {
	n.Spec = o.Spec
	for _, t := range pcrTerminal {
		ni, oi := pcrConditionIndices(n, t), pcrConditionIndices(o, t)
		if len(ni) != len(oi) {
			continue
		}
		for i := range oi {
			n.Status.Conditions[ni[i]] = o.Status.Conditions[oi[i]]
		}
	}
	now := metav1.Now()
	for i := range n.Status.Conditions {
		c := &n.Status.Conditions[i]
		if !c.LastTransitionTime.IsZero() {
			continue
		}
		c.LastTransitionTime = now
		for _, oc := range o.Status.Conditions {
			if oc.Type == c.Type && oc.Status == c.Status && !oc.LastTransitionTime.IsZero() {
				c.LastTransitionTime = oc.LastTransitionTime
				break
			}
		}
	}
}

func pcrConditionIndices(r *certificatesv1.PodCertificateRequest, t string) []int {
	var out []int
	for i, c := range r.Status.Conditions {
		if c.Type == t {
			out = append(out, i)
		}
	}
	return out
}

// IsKubernetesSignerName reports whether a signer name is one of the kubernetes.io ones
// (kubernetes.io/... or a subdomain of it).
func IsKubernetesSignerName(name string) bool {
	domain, _, _ := strings.Cut(name, "/")
	return domain == "kubernetes.io" || strings.HasSuffix(domain, ".kubernetes.io")
}

// validatePCRMaxExpiration checks a PodCertificateRequest's lifetime bound for signer.
func validatePCRMaxExpiration(v int32, signer string, p *field.Path) field.ErrorList {
	hi := int32(PCRMaxMaxExpirationSeconds)
	if IsKubernetesSignerName(signer) {
		hi = PCRKubernetesMaxMaxExpirationSeconds
	}
	if v < PCRMinMaxExpirationSeconds || v > hi {
		return field.ErrorList{field.Invalid(p, v, fmt.Sprintf("must be in the range [%d, %d]", PCRMinMaxExpirationSeconds, hi))}
	}
	return nil
}

// validateUserAnnotations: annotation rules, every key domain-prefixed.
func validateUserAnnotations(m map[string]string, p *field.Path) field.ErrorList {
	errs := apimachineryvalidation.ValidateAnnotations(m, p)
	for k := range m {
		if prefix, _, ok := strings.Cut(k, "/"); !ok || prefix == "" {
			errs = append(errs, field.Invalid(p, k, "key must be domain-prefixed (example.com/key)"))
		}
	}
	return errs
}

var stubPath = specPath.Child("stubPKCS10Request")

func validatePCR(r *certificatesv1.PodCertificateRequest) field.ErrorList {
	var errs field.ErrorList
	s := &r.Spec
	errs = append(errs, validateSignerName(s.SignerName, specPath.Child("signerName"))...)
	if s.UnverifiedUserAnnotations != nil {
		errs = append(errs, validateUserAnnotations(s.UnverifiedUserAnnotations, specPath.Child("unverifiedUserAnnotations"))...)
	}
	errs = append(errs, invalidMsgs(specPath.Child("podName"), s.PodName, apimachineryvalidation.NameIsDNSSubdomain(s.PodName, false))...)
	errs = append(errs, invalidMsgs(specPath.Child("serviceAccountName"), s.ServiceAccountName, apimachineryvalidation.NameIsDNSSubdomain(s.ServiceAccountName, false))...)
	errs = append(errs, invalidMsgs(specPath.Child("nodeName"), s.NodeName, apimachineryvalidation.NameIsDNSSubdomain(string(s.NodeName), false))...)
	for _, u := range []struct {
		name, v string
	}{{"podUID", string(s.PodUID)}, {"serviceAccountUID", string(s.ServiceAccountUID)}, {"nodeUID", string(s.NodeUID)}} {
		switch {
		case u.v == "":
			errs = append(errs, field.Invalid(specPath.Child(u.name), u.v, "must not be empty"))
		case len(u.v) > 128:
			errs = append(errs, field.TooLong(specPath.Child(u.name), u.v, 128))
		}
	}
	if s.MaxExpirationSeconds == nil {
		return append(errs, field.Required(specPath.Child("maxExpirationSeconds"), "must be set"))
	}
	errs = append(errs, validatePCRMaxExpiration(*s.MaxExpirationSeconds, s.SignerName, specPath.Child("maxExpirationSeconds"))...)
	return append(errs, validateStubRequest(s.StubPKCS10Request)...)
}

// validateStubRequest: a DER PKCS#10 request whose signature verifies with its own public key
// (the proof that the requester holds the private key), the key one of Ed25519, ECDSA P-256,
// P-384 or P-521, RSA 3072 or 4096.
func validateStubRequest(der []byte) field.ErrorList {
	if len(der) == 0 {
		return field.ErrorList{field.Required(stubPath, "")}
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return field.ErrorList{field.Invalid(stubPath, field.OmitValueType{}, "must be a valid DER-encoded PKCS#10 certificate signing request")}
	}
	switch pub := csr.PublicKey.(type) {
	case ed25519.PublicKey:
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() && pub.Curve != elliptic.P384() && pub.Curve != elliptic.P521() {
			return field.ErrorList{field.Invalid(stubPath, "curve "+pub.Curve.Params().Name, "elliptic public keys must use curve P256, P384 or P521")}
		}
	case *rsa.PublicKey:
		if bits := pub.Size() * 8; bits != 3072 && bits != 4096 {
			return field.ErrorList{field.Invalid(stubPath, fmt.Sprintf("%d-bit modulus", bits), "RSA keys must have modulus size 3072 or 4096")}
		}
	default:
		return field.ErrorList{field.Invalid(stubPath, field.OmitValueType{}, "unknown public key type; supported types are Ed25519, ECDSA, and RSA")}
	}
	if err := csr.CheckSignature(); err != nil {
		return field.ErrorList{field.Invalid(stubPath, field.OmitValueType{}, "could not verify proof-of-possession signature")}
	}
	return nil
}

func pcrHas(r *certificatesv1.PodCertificateRequest, t string) bool {
	for _, c := range r.Status.Conditions {
		if c.Type == t && c.Status == metav1.ConditionTrue {
			return true
		}
	}
	return false
}

// PCRTerminal reports whether a PodCertificateRequest is Issued, Denied or Failed.
func PCRTerminal(r *certificatesv1.PodCertificateRequest) bool {
	for _, t := range pcrTerminal {
		if pcrHas(r, t) {
			return true
		}
	}
	return false
}

func semanticallyEqual(a, b any, p *field.Path, detail string) field.ErrorList {
	if apiequality.Semantic.DeepEqual(a, b) {
		return nil
	}
	return field.ErrorList{field.Invalid(p, field.OmitValueType{}, detail)}
}

// validatePCRStatus is kube-apiserver's status-update validation of a PodCertificateRequest.
func validatePCRStatus(n, o *certificatesv1.PodCertificateRequest, now time.Time) field.ErrorList {
	var errs field.ErrorList
	cp := statusPath.Child("conditions")
	known := 0
	for i, c := range n.Status.Conditions {
		switch c.Type {
		case certificatesv1.PodCertificateRequestConditionTypeIssued, certificatesv1.PodCertificateRequestConditionTypeDenied, certificatesv1.PodCertificateRequestConditionTypeFailed:
			known++
			if known > 1 {
				errs = append(errs, field.Invalid(cp.Index(i).Child("type"), c.Type, `There may be at most one condition with type "Issued", "Denied", or "Failed"`))
			}
			if c.Status != metav1.ConditionTrue {
				errs = append(errs, field.NotSupported(cp.Index(i).Child("status"), c.Status, []metav1.ConditionStatus{metav1.ConditionTrue}))
			}
		default:
			errs = append(errs, field.NotSupported(cp.Index(i).Child("type"), c.Type, pcrTerminal))
		}
	}
	errs = append(errs, metav1validation.ValidateConditions(n.Status.Conditions, cp)...)
	if len(errs) > 0 {
		return errs
	}
	if PCRTerminal(o) {
		return semanticallyEqual(n.Status, o.Status, statusPath, "immutable after PodCertificateRequest is issued, denied, or failed")
	}
	if pcrHas(n, certificatesv1.PodCertificateRequestConditionTypeDenied) || pcrHas(n, certificatesv1.PodCertificateRequestConditionTypeFailed) {
		want := certificatesv1.PodCertificateRequestStatus{Conditions: n.Status.Conditions}
		return semanticallyEqual(n.Status, want, statusPath, "non-condition status fields must be empty when denying or failing the PodCertificateRequest")
	}
	if pcrHas(n, certificatesv1.PodCertificateRequestConditionTypeIssued) {
		return validateIssued(n, o, now)
	}
	return semanticallyEqual(n.Status, o.Status, statusPath, `status is immutable unless transitioning to "Issued", "Denied", or "Failed"`)
}

// validateIssued checks an issuing write: a PEM chain of certificates whose leaf holds the
// requested key, notBefore and notAfter those of the leaf (notBefore within 5 minutes of now),
// a lifetime of at least an hour and at most spec.maxExpirationSeconds, beginRefreshAt at
// least 10 minutes inside the validity.
func validateIssued(n, o *certificatesv1.PodCertificateRequest, now time.Time) field.ErrorList {
	chainPath := statusPath.Child("certificateChain")
	nbPath, naPath, brPath := statusPath.Child("notBefore"), statusPath.Child("notAfter"), statusPath.Child("beginRefreshAt")
	chain := n.Status.CertificateChain
	if len(chain) > maxCertificateChainSize {
		return field.ErrorList{field.TooLong(chainPath, "", maxCertificateChainSize)}
	}
	leafBlock, rest := pem.Decode([]byte(chain))
	if leafBlock == nil {
		return field.ErrorList{field.Invalid(chainPath, chain, "issued certificate chain must contain at least one certificate")}
	}
	if leafBlock.Type != "CERTIFICATE" {
		return field.ErrorList{field.Invalid(chainPath, chain, "issued certificate chain must consist entirely of CERTIFICATE PEM blocks")}
	}
	leaf, err := x509.ParseCertificate(leafBlock.Bytes)
	if err != nil {
		return field.ErrorList{field.Invalid(chainPath, chain, "leaf certificate does not parse as valid X.509")}
	}
	var errs field.ErrorList
	for _, d := range leaf.DNSNames {
		switch {
		case d == "":
			errs = append(errs, field.Invalid(chainPath, d, "leaf certificate should not contain empty DNSName"))
		case strings.Contains(d, ".."):
			errs = append(errs, field.Invalid(chainPath, d, "leaf certificate's DNSName should not contain '..'"))
		case strings.HasPrefix(d, ".") || strings.HasSuffix(d, "."):
			errs = append(errs, field.Invalid(chainPath, d, "leaf certificate's DNSName should not start or end with '.'"))
		}
	}
	for _, e := range leaf.EmailAddresses {
		if _, err := mail.ParseAddress(e); err != nil {
			errs = append(errs, field.Invalid(chainPath, e, "leaf certificate should not contain invalid EmailAddress"))
		}
	}
	csr, err := x509.ParseCertificateRequest(o.Spec.StubPKCS10Request)
	if err != nil {
		return append(errs, field.Invalid(stubPath, field.OmitValueType{}, "must be a valid DER-encoded PKCS#10 certificate signing request"))
	}
	if want, ok := csr.PublicKey.(interface{ Equal(x crypto.PublicKey) bool }); !ok || !want.Equal(leaf.PublicKey) {
		return append(errs, field.Invalid(chainPath, chain, "leaf certificate was not issued to the requested public key"))
	}
	if n.Status.NotBefore == nil {
		errs = append(errs, field.Required(nbPath, "must be present and consistent with the issued certificate"))
	}
	if n.Status.NotAfter == nil {
		errs = append(errs, field.Required(naPath, "must be present and consistent with the issued certificate"))
	}
	if n.Status.BeginRefreshAt == nil {
		errs = append(errs, field.Required(brPath, "must be present and in the range [notbefore+10min, notafter-10min]"))
	}
	if len(errs) > 0 {
		return errs
	}
	nb, na, br := n.Status.NotBefore.Time, n.Status.NotAfter.Time, n.Status.BeginRefreshAt.Time
	switch lifetime := leaf.NotAfter.Sub(leaf.NotBefore); {
	case !nb.Equal(leaf.NotBefore):
		return field.ErrorList{field.Invalid(nbPath, nb, "must be set to the NotBefore time encoded in the leaf certificate")}
	case !(nb.After(now.Add(-5*time.Minute)) && nb.Before(now.Add(5*time.Minute))):
		return field.ErrorList{field.Invalid(nbPath, nb, "must be set to within 5 minutes of kube-apiserver's current time")}
	case !na.Equal(leaf.NotAfter):
		return field.ErrorList{field.Invalid(naPath, na, "must be set to the NotAfter time encoded in the leaf certificate")}
	case lifetime < time.Hour:
		return field.ErrorList{field.Invalid(chainPath, lifetime, "leaf certificate lifetime must be >= 1 hour")}
	case n.Spec.MaxExpirationSeconds != nil && lifetime > time.Duration(*n.Spec.MaxExpirationSeconds)*time.Second:
		return field.ErrorList{field.Invalid(chainPath, lifetime, fmt.Sprintf("leaf certificate lifetime must be <= spec.maxExpirationSeconds (%v)", *n.Spec.MaxExpirationSeconds))}
	case br.Before(nb.Add(10 * time.Minute)):
		return field.ErrorList{field.Invalid(brPath, br, "must be at least 10 minutes after status.notBefore")}
	case br.After(na.Add(-10 * time.Minute)):
		return field.ErrorList{field.Invalid(brPath, br, "must be at least 10 minutes before status.notAfter")}
	}
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil
		}
		if b.Type != "CERTIFICATE" {
			return field.ErrorList{field.Invalid(chainPath, chain, "issued certificate chain must consist entirely of CERTIFICATE PEM blocks")}
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			return field.ErrorList{field.Invalid(chainPath, chain, "intermediate certificate does not parse as valid X.509")}
		}
	}
}

// validatePodCertificateProjection checks a projected podCertificate source: a signer, a key
// type the kubelet can make, at least one path (credentialBundlePath, or keyPath with
// certificateChainPath), each a relative path, and a lifetime bound in range.
func validatePodCertificateProjection(pc *corev1.PodCertificateProjection, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateSignerName(pc.SignerName, p.Child("signerName"))...)
	errs = append(errs, validateEnum(pc.KeyType, PodCertificateKeyTypes, p.Child("keyType"))...)
	if pc.MaxExpirationSeconds != nil {
		v := *pc.MaxExpirationSeconds
		hi := int32(PCRMaxMaxExpirationSeconds)
		if IsKubernetesSignerName(pc.SignerName) {
			hi = PCRKubernetesMaxMaxExpirationSeconds
		}
		if v < PCRMinMaxExpirationSeconds {
			errs = append(errs, field.Invalid(p.Child("maxExpirationSeconds"), v, fmt.Sprintf("if provided, maxExpirationSeconds must be >= %d", PCRMinMaxExpirationSeconds)))
		} else if v > hi {
			errs = append(errs, field.Invalid(p.Child("maxExpirationSeconds"), v, fmt.Sprintf("if provided, maxExpirationSeconds must be <= %d", hi)))
		}
	}
	if pc.CredentialBundlePath == "" && pc.KeyPath == "" && pc.CertificateChainPath == "" {
		errs = append(errs, field.Required(p, "at least one of credentialBundlePath, keyPath, and certificateChainPath must be specified"))
	}
	if (pc.KeyPath == "") != (pc.CertificateChainPath == "") {
		errs = append(errs, field.Required(p, "keyPath and certificateChainPath must be specified together"))
	}
	for _, f := range []struct{ name, v string }{{"credentialBundlePath", pc.CredentialBundlePath}, {"keyPath", pc.KeyPath}, {"certificateChainPath", pc.CertificateChainPath}} {
		if f.v != "" {
			errs = append(errs, validateLocalPath(f.v, p.Child(f.name))...)
		}
	}
	if pc.UserAnnotations != nil {
		errs = append(errs, validateUserAnnotations(pc.UserAnnotations, p.Child("userAnnotations"))...)
	}
	return errs
}

// validateLocalPath: a relative path without '..' elements.
func validateLocalPath(v string, p *field.Path) field.ErrorList {
	if strings.HasPrefix(v, "/") {
		return field.ErrorList{field.Invalid(p, v, "must be a relative path")}
	}
	for _, part := range strings.Split(v, "/") {
		if part == ".." {
			return field.ErrorList{field.Invalid(p, v, "must not contain '..'")}
		}
	}
	return nil
}

// PodCertificateKeyTypes are the key types a podCertificate projection may ask for.
var PodCertificateKeyTypes = []string{"RSA3072", "RSA4096", "ECDSAP256", "ECDSAP384", "ECDSAP521", "ED25519"}

// validateProjectedPodCertificates checks the podCertificate sources of a projected volume.
func validateProjectedPodCertificates(pv *corev1.ProjectedVolumeSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i := range pv.Sources {
		if pc := pv.Sources[i].PodCertificate; pc != nil {
			errs = append(errs, validatePodCertificateProjection(pc, p.Child("sources").Index(i).Child("podCertificate"))...)
		}
	}
	return errs
}
