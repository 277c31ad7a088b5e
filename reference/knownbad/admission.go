package knownbad

import (
	"context"

	"k8s.io/apiserver/pkg/admission"

	"github.com/clusterkit/clusterkit/reference/apiserver"
)

// AdmissionValidatingBeforeMutating runs the validating admission plugins — validating
// webhooks and policies among them — before the mutating ones: validating webhooks judge the
// object as the client sent it, not as mutating webhooks change it.
func AdmissionValidatingBeforeMutating(c *apiserver.Config) {
	if c.Admission != nil {
		c.Admission = validatingFirst{c.Admission}
	}
}

// validatingFirst calls its plugin's Validate, then its Admit, in the mutating phase, and
// nothing in the validating phase.
type validatingFirst struct{ next admission.Interface }

func (v validatingFirst) Unwrap() admission.Interface { return v.next }

func (v validatingFirst) Handles(op admission.Operation) bool { return v.next.Handles(op) }

func (v validatingFirst) Admit(ctx context.Context, a admission.Attributes, o admission.ObjectInterfaces) error {
	if val, ok := v.next.(admission.ValidationInterface); ok && val.Handles(a.GetOperation()) {
		if err := val.Validate(ctx, a, o); err != nil {
			return err
		}
	}
	if m, ok := v.next.(admission.MutationInterface); ok && m.Handles(a.GetOperation()) {
		return m.Admit(ctx, a, o)
	}
	return nil
}

func (v validatingFirst) Validate(context.Context, admission.Attributes, admission.ObjectInterfaces) error {
	return nil
}
