package validation

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authentication/user"
)

// minCSRExpirationSeconds is the shortest spec.expirationSeconds a CSR may ask for.
const minCSRExpirationSeconds = 600

var supportedKeyUsages = []string{
	string(certificatesv1.UsageSigning), string(certificatesv1.UsageDigitalSignature), string(certificatesv1.UsageContentCommitment),
	string(certificatesv1.UsageKeyEncipherment), string(certificatesv1.UsageKeyAgreement), string(certificatesv1.UsageDataEncipherment),
	string(certificatesv1.UsageCertSign), string(certificatesv1.UsageCRLSign), string(certificatesv1.UsageEncipherOnly),
	string(certificatesv1.UsageDecipherOnly), string(certificatesv1.UsageAny), string(certificatesv1.UsageServerAuth),
	string(certificatesv1.UsageClientAuth), string(certificatesv1.UsageCodeSigning), string(certificatesv1.UsageEmailProtection),
	string(certificatesv1.UsageSMIME), string(certificatesv1.UsageIPsecEndSystem), string(certificatesv1.UsageIPsecTunnel),
	string(certificatesv1.UsageIPsecUser), string(certificatesv1.UsageTimestamping), string(certificatesv1.UsageOCSPSigning),
	string(certificatesv1.UsageMicrosoftSGC), string(certificatesv1.UsageNetscapeSGC),
}

// CSRStrategy is the strategy of certificates.k8s.io/v1 CertificateSigningRequest: the
// requester (spec.username, uid, groups, extra) is the server's, never the client's; writes of
// the main resource change only metadata; status writes may not touch the Approved and Denied
// conditions, which only the approval subresource changes, and approval may change nothing
// else.
type CSRStrategy struct {
	*Kind[*certificatesv1.CertificateSigningRequest]
}

// CertificateSigningRequestKind returns the CSR strategy.
func CertificateSigningRequestKind() *CSRStrategy {
	return &CSRStrategy{&Kind[*certificatesv1.CertificateSigningRequest]{
		ClusterScoped: true,
		Create:        validateCSR,
		Update:        func(n, o *certificatesv1.CertificateSigningRequest) field.ErrorList { return validateCSRStatus(n, o) },
		Status:        validateCSRStatus,
		PrepareCreate: func(c *certificatesv1.CertificateSigningRequest) {
			c.Spec.Username, c.Spec.UID, c.Spec.Groups, c.Spec.Extra = "", "", nil, nil
			c.Status = certificatesv1.CertificateSigningRequestStatus{}
		},
		PrepareUpdate: func(n, o *certificatesv1.CertificateSigningRequest) { n.Spec, n.Status = o.Spec, o.Status },
		PrepareStatus: func(n, o *certificatesv1.CertificateSigningRequest) {
			n.Spec = o.Spec
			n.Status.Conditions = keepConditions(n.Status.Conditions, o.Status.Conditions, certificatesv1.CertificateApproved, certificatesv1.CertificateDenied)
		},
	}}
}

// PrepareForCreateBy records the requester in the spec.
func (s *CSRStrategy) PrepareForCreateBy(obj runtime.Object, requester user.Info) {
	c, ok := obj.(*certificatesv1.CertificateSigningRequest)
	if !ok || requester == nil {
		return
	}
	c.Spec.Username, c.Spec.UID, c.Spec.Groups = requester.GetName(), requester.GetUID(), requester.GetGroups()
	if extra := requester.GetExtra(); len(extra) > 0 {
		c.Spec.Extra = map[string]certificatesv1.ExtraValue{}
		for k, v := range extra {
			c.Spec.Extra[k] = v
		}
	}
}

// PrepareForSubresourceUpdate: the approval subresource changes only the conditions.
func (s *CSRStrategy) PrepareForSubresourceUpdate(sub string, newObj, oldObj runtime.Object) {
	n, ok1 := newObj.(*certificatesv1.CertificateSigningRequest)
	o, ok2 := oldObj.(*certificatesv1.CertificateSigningRequest)
	if !ok1 || !ok2 {
		return
	}
	if sub == "approval" {
		n.Spec = o.Spec
		n.Status.Certificate = o.Status.Certificate
		return
	}
	s.PrepareForStatusUpdate(newObj, oldObj)
}

// keepConditions replaces the conditions of the given types in next with those of prev: in
// place when next holds as many of a type as prev (as kube-apiserver preserves them, so the
// order a client wrote stays), else by dropping next's and appending prev's.
func keepConditions(next, prev []certificatesv1.CertificateSigningRequestCondition, types ...certificatesv1.RequestConditionType) []certificatesv1.CertificateSigningRequestCondition {
	kept := map[certificatesv1.RequestConditionType]bool{}
	inPlace := true
	for _, t := range types {
		kept[t] = true
		if len(conditionIndices(next, t)) != len(conditionIndices(prev, t)) {
			inPlace = false
		}
	}
	if inPlace {
		out := append([]certificatesv1.CertificateSigningRequestCondition(nil), next...)
		for _, t := range types {
			ni, pi := conditionIndices(next, t), conditionIndices(prev, t)
			for i := range pi {
				out[ni[i]] = prev[pi[i]]
			}
		}
		return out
	}
	var out []certificatesv1.CertificateSigningRequestCondition
	for _, c := range next {
		if !kept[c.Type] {
			out = append(out, c)
		}
	}
	for _, c := range prev {
		if kept[c.Type] {
			out = append(out, c)
		}
	}
	return out
}

func conditionIndices(cs []certificatesv1.CertificateSigningRequestCondition, t certificatesv1.RequestConditionType) []int {
	var out []int
	for i, c := range cs {
		if c.Type == t {
			out = append(out, i)
		}
	}
	return out
}

func validateCSR(c *certificatesv1.CertificateSigningRequest) field.ErrorList {
	var errs field.ErrorList
	rp := specPath.Child("request")
	if block, _ := pem.Decode(c.Spec.Request); block == nil || block.Type != "CERTIFICATE REQUEST" {
		errs = append(errs, field.Invalid(rp, c.Spec.Request, "PEM block type must be CERTIFICATE REQUEST"))
	} else if _, err := x509.ParseCertificateRequest(block.Bytes); err != nil {
		errs = append(errs, field.Invalid(rp, c.Spec.Request, err.Error()))
	}
	errs = append(errs, validateSignerName(c.Spec.SignerName, specPath.Child("signerName"))...)
	if c.Spec.ExpirationSeconds != nil && *c.Spec.ExpirationSeconds < minCSRExpirationSeconds {
		errs = append(errs, field.Invalid(specPath.Child("expirationSeconds"), *c.Spec.ExpirationSeconds, "may not specify a duration less than 600 seconds (10 minutes)"))
	}
	seen := map[certificatesv1.KeyUsage]bool{}
	for i, u := range c.Spec.Usages {
		p := specPath.Child("usages").Index(i)
		if seen[u] {
			errs = append(errs, field.Duplicate(p, u))
		}
		seen[u] = true
		errs = append(errs, validateEnum(u, supportedKeyUsages, p)...)
	}
	return errs
}

// validateSignerName: required, a domain-prefixed path (example.com/signer-name).
func validateSignerName(name string, fldPath *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	domain, path, ok := strings.Cut(name, "/")
	if !ok || path == "" || len(utilvalidation.IsDNS1123Subdomain(domain)) > 0 {
		return field.ErrorList{field.Invalid(fldPath, name, "must be a fully qualified domain and path of the form 'example.com/signer-name'")}
	}
	if len(path) > 253 || len(name) > 571 {
		return field.ErrorList{field.TooLong(fldPath, name, 571)}
	}
	return nil
}

// validateCSRStatus: conditions each once, with a type, status True for Approved, Denied and
// Failed, Approved and Denied exclusive, never removed; a certificate is PEM CERTIFICATE blocks
// and never changes once set.
func validateCSRStatus(n, o *certificatesv1.CertificateSigningRequest) field.ErrorList {
	var errs field.ErrorList
	cp := statusPath.Child("conditions")
	seen := map[certificatesv1.RequestConditionType]bool{}
	for i, c := range n.Status.Conditions {
		p := cp.Index(i)
		if c.Type == "" {
			errs = append(errs, field.Required(p.Child("type"), ""))
		}
		switch c.Type {
		case certificatesv1.CertificateApproved, certificatesv1.CertificateDenied, certificatesv1.CertificateFailed:
			if seen[c.Type] {
				errs = append(errs, field.Duplicate(p.Child("type"), c.Type))
			}
			if c.Status != corev1.ConditionTrue {
				errs = append(errs, field.NotSupported(p.Child("status"), c.Status, []string{string(corev1.ConditionTrue)}))
			}
		default:
			errs = append(errs, validateEnum(c.Status, []string{string(corev1.ConditionTrue), string(corev1.ConditionFalse), string(corev1.ConditionUnknown)}, p.Child("status"))...)
		}
		seen[c.Type] = true
	}
	if seen[certificatesv1.CertificateApproved] && seen[certificatesv1.CertificateDenied] {
		errs = append(errs, field.Invalid(cp, n.Status.Conditions, "Approved and Denied conditions are mutually exclusive"))
	}
	for _, c := range o.Status.Conditions {
		if (c.Type == certificatesv1.CertificateApproved || c.Type == certificatesv1.CertificateDenied) && !seen[c.Type] {
			errs = append(errs, field.Forbidden(cp, fmt.Sprintf("updates may not remove a condition of type %q", c.Type)))
		}
	}
	if len(n.Status.Certificate) > 0 {
		rest := n.Status.Certificate
		blocks := 0
		for {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			blocks++
			if b.Type != "CERTIFICATE" {
				errs = append(errs, field.Invalid(statusPath.Child("certificate"), "<certificate data>", "only CERTIFICATE PEM blocks are allowed"))
				break
			}
		}
		if blocks == 0 {
			errs = append(errs, field.Invalid(statusPath.Child("certificate"), "<certificate data>", "must contain at least one CERTIFICATE PEM block"))
		}
	}
	if len(o.Status.Certificate) > 0 && string(o.Status.Certificate) != string(n.Status.Certificate) {
		errs = append(errs, field.Forbidden(statusPath.Child("certificate"), "updates may not modify existing certificate content"))
	}
	return append(errs, apimachineryvalidation.ValidateImmutableField(n.Spec.SignerName, o.Spec.SignerName, specPath.Child("signerName"))...)
}
