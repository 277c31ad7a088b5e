package signeradmission

import (
	"context"
	"errors"
	"fmt"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
)

// PluginName names the plugin in admission errors.
const PluginName = "PodCertificateRequestSigning"

// Plugin checks the signer permission of PodCertificateRequest status writes.
type Plugin struct {
	*admission.Handler
	authz authorizer.Authorizer
}

var _ admission.ValidationInterface = (*Plugin)(nil)

// New returns the plugin deciding with authz (the server's authorizer). It does not dial.
func New(authz authorizer.Authorizer) *Plugin {
	return &Plugin{Handler: admission.NewHandler(admission.Update), authz: authz}
}

// Validate implements admission.ValidationInterface.
func (p *Plugin) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	gr := a.GetResource().GroupResource()
	if gr.Group != certificatesv1.GroupName || gr.Resource != "podcertificaterequests" || a.GetSubresource() != "status" {
		return nil
	}
	n, ok1 := a.GetObject().(*certificatesv1.PodCertificateRequest)
	o, ok2 := a.GetOldObject().(*certificatesv1.PodCertificateRequest)
	if !ok1 || !ok2 {
		return admission.NewForbidden(a, fmt.Errorf("unexpected types %T, %T", a.GetObject(), a.GetOldObject()))
	}
	if n.Status.CertificateChain == o.Status.CertificateChain {
		return nil
	}
	u := a.GetUserInfo()
	if u == nil {
		return apierrors.NewInternalError(errors.New("cannot determine calling user to perform \"sign\" check"))
	}
	if Authorized(ctx, p.authz, u, "sign", o.Spec.SignerName) {
		return nil
	}
	return apierrors.NewInvalid(certificatesv1.SchemeGroupVersion.WithKind("PodCertificateRequest").GroupKind(), a.GetName(), field.ErrorList{
		field.Forbidden(field.NewPath("spec", "signerName"), fmt.Sprintf("User %q is not permitted to \"sign\" for signer %q", u.GetName(), o.Spec.SignerName)),
	})
}

// Authorized reports whether u may verb the signer signerName: on "signers" named signerName,
// or named "domain/*" for its domain.
func Authorized(ctx context.Context, authz authorizer.Authorizer, u user.Info, verb, signerName string) bool {
	names := []string{signerName}
	if domain, _, ok := strings.Cut(signerName, "/"); ok {
		names = append(names, domain+"/*")
	}
	for _, name := range names {
		d, _, err := authz.Authorize(ctx, authorizer.AttributesRecord{
			User: u, Verb: verb, Name: name, APIGroup: certificatesv1.GroupName, APIVersion: "*",
			Resource: "signers", ResourceRequest: true,
		})
		if err == nil && d == authorizer.DecisionAllow {
			return true
		}
	}
	return false
}
