package tables

import (
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// admissionColumns are the columns of admissionregistration.k8s.io's kinds, as kube-apiserver's
// printers (pkg/printers/internalversion) define them.
func admissionColumns(gk schema.GroupKind) ([]metav1.TableColumnDefinition, bool) {
	if gk.Group != admissionregistrationv1.GroupName {
		return nil, false
	}
	name, age := nameColumn(), ageColumn()
	switch gk.Kind {
	case "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration":
		return []metav1.TableColumnDefinition{name, column("Webhooks", "integer", "Webhooks indicates the number of webhooks registered in this configuration."), age}, true
	case "ValidatingAdmissionPolicy":
		return []metav1.TableColumnDefinition{
			name,
			column("Validations", "integer", "Validations indicates the number of validation rules defined in this configuration"),
			column("ParamKind", "string", "ParamKind specifies the kind of resources used to parameterize this policy"),
			age,
		}, true
	case "ValidatingAdmissionPolicyBinding":
		return []metav1.TableColumnDefinition{
			name,
			column("PolicyName", "string", "PolicyName indicates the policy definition which the policy binding binded to"),
			column("ParamRef", "string", "ParamRef indicates the param resource which sets the configration param"),
			age,
		}, true
	}
	return nil, false
}

// admissionCells are the cells of an object of admissionregistration.k8s.io's kinds.
func admissionCells(obj runtime.Object, now time.Time) ([]interface{}, bool) {
	switch o := obj.(type) {
	case *admissionregistrationv1.MutatingWebhookConfiguration:
		return []interface{}{o.Name, int64(len(o.Webhooks)), age(o.CreationTimestamp, now)}, true
	case *admissionregistrationv1.ValidatingWebhookConfiguration:
		return []interface{}{o.Name, int64(len(o.Webhooks)), age(o.CreationTimestamp, now)}, true
	case *admissionregistrationv1.ValidatingAdmissionPolicy:
		paramKind := "<unset>"
		if pk := o.Spec.ParamKind; pk != nil {
			paramKind = pk.APIVersion + "/" + pk.Kind
		}
		return []interface{}{o.Name, int64(len(o.Spec.Validations)), paramKind, age(o.CreationTimestamp, now)}, true
	case *admissionregistrationv1.ValidatingAdmissionPolicyBinding:
		paramRef := "<unset>"
		if pr := o.Spec.ParamRef; pr != nil {
			switch {
			case pr.Name != "" && pr.Namespace != "":
				paramRef = pr.Namespace + "/" + pr.Name
			case pr.Name != "":
				// The scope of the param is unknown here: kube-apiserver prints "*/" too.
				paramRef = "*/" + pr.Name
			case pr.Selector != nil:
				paramRef = pr.Selector.String()
			}
		}
		return []interface{}{o.Name, o.Spec.PolicyName, paramRef, age(o.CreationTimestamp, now)}, true
	}
	return nil, false
}
