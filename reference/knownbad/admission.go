package knownbad

import (
	"context"
	"reflect"

	"k8s.io/apiserver/pkg/admission"

	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/apiserver/dynamicadmission"
)

// AdmissionValidatingBeforeMutating calls the validating webhooks (and admission policies)
// before the mutating webhooks: validating webhooks judge the object as the client sent it,
// not as mutating webhooks change it. The other admission plugins keep their order.
func AdmissionValidatingBeforeMutating(c *apiserver.Config) {
	c.Admission = swapDynamic(c.Admission)
}

// swapDynamic replaces the dynamic admission plugins in a chain (admission.NewChainHandler's
// slice) with validatingFirst.
func swapDynamic(plugin admission.Interface) admission.Interface {
	if _, ok := plugin.(*dynamicadmission.Plugins); ok {
		return validatingFirst{plugin}
	}
	v := reflect.ValueOf(plugin)
	if plugin == nil || v.Kind() != reflect.Slice {
		return plugin
	}
	members := make([]admission.Interface, 0, v.Len())
	for i := range v.Len() {
		if m, ok := v.Index(i).Interface().(admission.Interface); ok {
			members = append(members, swapDynamic(m))
		}
	}
	return admission.NewChainHandler(members...)
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
