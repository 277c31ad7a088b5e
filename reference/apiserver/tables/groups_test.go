package tables

import (
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestGroupTables(t *testing.T) {
	exp := int32(3600)
	cases := []struct {
		obj  runtime.Object
		want []interface{}
	}{
		{&flowcontrolv1.FlowSchema{ObjectMeta: metav1.ObjectMeta{Name: "exempt", CreationTimestamp: ago(0)},
			Spec: flowcontrolv1.FlowSchemaSpec{PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: "exempt"}, MatchingPrecedence: 1}},
			[]interface{}{"exempt", "exempt", int64(1), "<none>", "0s", "?"}},
		{&flowcontrolv1.PriorityLevelConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "catch-all", CreationTimestamp: ago(0)},
			Spec: flowcontrolv1.PriorityLevelConfigurationSpec{Type: flowcontrolv1.PriorityLevelEnablementLimited,
				Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{NominalConcurrencyShares: ptr(int32(5)), LimitResponse: flowcontrolv1.LimitResponse{Type: flowcontrolv1.LimitResponseTypeReject}}}},
			[]interface{}{"catch-all", "Limited", int64(5), "<none>", "<none>", "<none>", "0s"}},
		{&certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: "csr-1", CreationTimestamp: ago(0)},
			Spec:   certificatesv1.CertificateSigningRequestSpec{SignerName: "example.com/s", Username: "alice", ExpirationSeconds: &exp},
			Status: certificatesv1.CertificateSigningRequestStatus{Conditions: []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue}}}},
			[]interface{}{"csr-1", "0s", "example.com/s", "alice", "60m", "Approved"}},
	}
	for _, c := range cases {
		rows, err := Rows([]runtime.Object{c.obj}, testNow)
		if err != nil {
			t.Fatal(err)
		}
		if got := rows[0].Cells; len(got) != len(c.want) {
			t.Errorf("%T: cells %v, want %v", c.obj, got, c.want)
		} else {
			for i := range got {
				if got[i] != c.want[i] {
					t.Errorf("%T: cell %d = %#v, want %#v", c.obj, i, got[i], c.want[i])
				}
			}
		}
	}
}
