package tables

import (
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestAdmissionRegistrationTables(t *testing.T) {
	gv := admissionregistrationv1.SchemeGroupVersion
	for kind, c := range map[string]struct {
		obj  runtime.Object
		want []interface{}
	}{
		"ValidatingWebhookConfiguration": {&admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "v"}, Webhooks: make([]admissionregistrationv1.ValidatingWebhook, 2)}, []interface{}{"v", int64(2)}},
		"MutatingWebhookConfiguration":   {&admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "m"}}, []interface{}{"m", int64(0)}},
		"ValidatingAdmissionPolicy": {&admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			ParamKind: &admissionregistrationv1.ParamKind{APIVersion: "v1", Kind: "ConfigMap"}, Validations: make([]admissionregistrationv1.Validation, 1),
		}}, []interface{}{"p", int64(1), "v1/ConfigMap"}},
		"ValidatingAdmissionPolicyBinding": {&admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: "b"}, Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName: "p", ParamRef: &admissionregistrationv1.ParamRef{Name: "limits"},
		}}, []interface{}{"b", "p", "*/limits"}},
	} {
		t.Run(kind, func(t *testing.T) {
			table, err := Table(gv.WithKind(kind), []runtime.Object{c.obj}, testNow)
			if err != nil {
				t.Fatal(err)
			}
			cells := table.Rows[0].Cells
			if len(cells) != len(table.ColumnDefinitions) || len(cells) != len(c.want)+1 {
				t.Fatalf("%d cells for %d columns, want %d", len(cells), len(table.ColumnDefinitions), len(c.want)+1)
			}
			for i, w := range c.want {
				if cells[i] != w {
					t.Errorf("cell %d (%s) = %v, want %v", i, table.ColumnDefinitions[i].Name, cells[i], w)
				}
			}
		})
	}
}
