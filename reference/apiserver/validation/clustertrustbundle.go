package validation

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// maxTrustBundleSize bounds a ClusterTrustBundle's spec.trustBundle.
const maxTrustBundleSize = 1 << 20

// ClusterTrustBundleKind is the strategy of certificates.k8s.io/v1 ClusterTrustBundle: a
// bundle with a signerName is named signerName (with ':' for '/') and ':' followed by a DNS
// subdomain, one without has a DNS subdomain name; trustBundle is one or more distinct PEM CA
// certificates; signerName is immutable.
func ClusterTrustBundleKind() *Kind[*certificatesv1.ClusterTrustBundle] {
	return &Kind[*certificatesv1.ClusterTrustBundle]{
		ClusterScoped: true,
		// The name rule depends on spec.signerName: Create checks it.
		NameRule: RulePathSegment,
		Create: func(b *certificatesv1.ClusterTrustBundle) field.ErrorList {
			return validateClusterTrustBundle(b, true)
		},
		Update: func(n, o *certificatesv1.ClusterTrustBundle) field.ErrorList {
			return apimachineryvalidation.ValidateImmutableField(n.Spec.SignerName, o.Spec.SignerName, field.NewPath("spec", "signerName"))
		},
	}
}

func validateClusterTrustBundle(b *certificatesv1.ClusterTrustBundle, parse bool) field.ErrorList {
	var errs field.ErrorList
	np := field.NewPath("metadata", "name")
	if b.Spec.SignerName == "" {
		if strings.Contains(b.Name, ":") {
			errs = append(errs, field.Invalid(np, b.Name, "ClusterTrustBundle without signer name must not have \":\" in its name"))
		} else {
			errs = append(errs, invalidMsgs(np, b.Name, apimachineryvalidation.NameIsDNSSubdomain(b.Name, false))...)
		}
	} else {
		errs = append(errs, validateSignerName(b.Spec.SignerName, field.NewPath("spec", "signerName"))...)
		prefix := strings.ReplaceAll(b.Spec.SignerName, "/", ":") + ":"
		if !strings.HasPrefix(b.Name, prefix) {
			errs = append(errs, field.Invalid(np, b.Name, fmt.Sprintf("ClusterTrustBundle for signerName %s must be named with prefix %s", b.Spec.SignerName, prefix)))
		} else {
			errs = append(errs, invalidMsgs(np, b.Name, apimachineryvalidation.NameIsDNSSubdomain(strings.TrimPrefix(b.Name, prefix), false))...)
		}
	}
	if parse {
		errs = append(errs, validateTrustBundle(field.NewPath("spec", "trustBundle"), b.Spec.TrustBundle)...)
	}
	return errs
}

// validateTrustBundle: PEM CERTIFICATE blocks without headers, each an X.509 CA certificate
// with valid basic constraints, at least one, none twice.
func validateTrustBundle(p *field.Path, in string) field.ErrorList {
	if len(in) > maxTrustBundleSize {
		return field.ErrorList{field.TooLong(p, "", maxTrustBundleSize)}
	}
	var errs field.ErrorList
	seen := map[string][]int{}
	var order []string
	rest := []byte(in)
	for i := 0; ; i++ {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch {
		case b.Type != "CERTIFICATE":
			errs = append(errs, field.Invalid(p, "<value omitted>", fmt.Sprintf("entry %d has bad block type: %v", i, b.Type)))
			continue
		case len(b.Headers) != 0:
			errs = append(errs, field.Invalid(p, "<value omitted>", fmt.Sprintf("entry %d has PEM block headers", i)))
			continue
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		switch {
		case err != nil:
			errs = append(errs, field.Invalid(p, "<value omitted>", fmt.Sprintf("entry %d does not parse as X.509", i)))
			continue
		case !cert.IsCA:
			errs = append(errs, field.Invalid(p, "<value omitted>", fmt.Sprintf("entry %d does not have the CA bit set", i)))
			continue
		case !cert.BasicConstraintsValid:
			errs = append(errs, field.Invalid(p, "<value omitted>", fmt.Sprintf("entry %d has invalid basic constraints", i)))
			continue
		}
		if _, ok := seen[string(b.Bytes)]; !ok {
			order = append(order, string(b.Bytes))
		}
		seen[string(b.Bytes)] = append(seen[string(b.Bytes)], i)
	}
	if len(errs) != 0 {
		return errs
	}
	if len(seen) == 0 {
		return field.ErrorList{field.Invalid(p, "<value omitted>", "at least one trust anchor must be provided")}
	}
	for _, k := range order {
		if idx := seen[k]; len(idx) > 1 {
			errs = append(errs, field.Invalid(p, "<value omitted>", fmt.Sprintf("duplicate trust anchor (indices %v)", idx)))
		}
	}
	return errs
}
