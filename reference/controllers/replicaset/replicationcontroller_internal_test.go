package replicaset

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestReplicationControllerConversion(t *testing.T) {
	rc := &corev1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Name: "rc", Namespace: "ns", UID: "u1", ResourceVersion: "7", Generation: 3},
		Spec: corev1.ReplicationControllerSpec{
			Replicas: ptr.To(int32(3)), MinReadySeconds: 5, Selector: map[string]string{"app": "web"},
			Template: &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}},
		},
		Status: corev1.ReplicationControllerStatus{
			Replicas: 3, FullyLabeledReplicas: 3, ReadyReplicas: 2, AvailableReplicas: 1, ObservedGeneration: 3,
			Conditions: []corev1.ReplicationControllerCondition{{Type: corev1.ReplicationControllerReplicaFailure, Status: corev1.ConditionTrue, Reason: "r"}},
		},
	}
	rs := rcToRS(rc)
	if rs.Name != "rc" || rs.UID != "u1" || rs.ResourceVersion != "7" || *rs.Spec.Replicas != 3 || rs.Spec.Selector.MatchLabels["app"] != "web" {
		t.Fatalf("conversion lost fields: %+v", rs)
	}
	if got := rsSpecToRC(&rs.Spec); !equality.Semantic.DeepEqual(got, rc.Spec) {
		t.Errorf("spec round trip: got %+v, want %+v", got, rc.Spec)
	}
	if got := rsStatusToRC(rs.Status); !equality.Semantic.DeepEqual(got, rc.Status) {
		t.Errorf("status round trip: got %+v, want %+v", got, rc.Status)
	}
	if pod := podFor(rs, rcKind); pod.OwnerReferences[0].Kind != "ReplicationController" || pod.OwnerReferences[0].APIVersion != "v1" {
		t.Errorf("pod owner: %+v", pod.OwnerReferences)
	}
}
