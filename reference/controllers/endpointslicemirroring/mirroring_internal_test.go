package endpointslicemirroring

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestDesired(t *testing.T) {
	ep := &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Name: "ext", Namespace: "ns", UID: "u1",
			Labels:      map[string]string{"team": "a"},
			Annotations: map[string]string{"note": "x", corev1.EndpointsLastChangeTriggerTime: "t"}},
		Subsets: []corev1.EndpointSubset{
			{Addresses: []corev1.EndpointAddress{{IP: "10.1.2.3"}, {IP: "fd00::1"}}, NotReadyAddresses: []corev1.EndpointAddress{{IP: "10.1.2.4"}, {IP: "not-an-ip"}},
				Ports: []corev1.EndpointPort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}},
			{Addresses: []corev1.EndpointAddress{{IP: "10.1.2.5"}}, Ports: []corev1.EndpointPort{{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP}}},
		},
	}
	got := Desired(ep)
	if len(got) != 3 {
		t.Fatalf("%d slices, want 3 (IPv4 port 80, IPv6 port 80, IPv4 port 53)", len(got))
	}
	for _, s := range got {
		if s.Labels[discoveryv1.LabelManagedBy] != ManagedBy || s.Labels[discoveryv1.LabelServiceName] != "ext" || s.Labels["team"] != "a" {
			t.Fatalf("labels %v", s.Labels)
		}
		if s.Annotations["note"] != "x" || s.Annotations[corev1.EndpointsLastChangeTriggerTime] != "" {
			t.Fatalf("annotations %v", s.Annotations)
		}
		if len(s.OwnerReferences) != 1 || s.OwnerReferences[0].Kind != "Endpoints" || s.OwnerReferences[0].UID != "u1" {
			t.Fatalf("owner %v", s.OwnerReferences)
		}
		if s.AddressType == discoveryv1.AddressTypeIPv4 && ptr.Deref(s.Ports[0].Port, 0) == 80 {
			if len(s.Endpoints) != 2 || !*s.Endpoints[0].Conditions.Ready || *s.Endpoints[1].Conditions.Ready {
				t.Fatalf("IPv4 port 80 endpoints %+v", s.Endpoints)
			}
		}
	}
	skip := ep.DeepCopy()
	skip.Labels[discoveryv1.LabelSkipMirror] = "true"
	if ShouldMirror(skip) || !ShouldMirror(ep) {
		t.Fatal("skip-mirror label not honoured")
	}
}
