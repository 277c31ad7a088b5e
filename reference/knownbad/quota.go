package knownbad

import (
	"context"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apiserver/pkg/admission"

	"github.com/clusterkit/clusterkit/reference/apiserver/quotaadmission"
)

// QuotaAdmissionIgnoringHard is a ResourceQuota admission plugin that charges what fits but
// lets through the create that would take a quota over its hard limit, instead of refusing it
// with 403.
func QuotaAdmissionIgnoringHard() (admission.Interface, error) {
	inner, err := quotaadmission.New()
	if err != nil {
		return nil, err
	}
	return ignoringHard{inner}, nil
}

type ignoringHard struct{ *quotaadmission.Plugin }

func (p ignoringHard) Validate(ctx context.Context, a admission.Attributes, o admission.ObjectInterfaces) error {
	err := p.Plugin.Validate(ctx, a, o)
	if apierrors.IsForbidden(err) && strings.Contains(err.Error(), "exceeded quota") {
		return nil
	}
	return err
}
