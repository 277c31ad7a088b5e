package endpoints

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func pod(name, ip string, ready bool, port int32) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name)}}
	p.Spec.NodeName = "node-1"
	p.Spec.Containers = []corev1.Container{{Name: "c", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: port}}}}
	p.Status.PodIP = ip
	p.Status.PodIPs = []corev1.PodIP{{IP: ip}}
	p.Status.Phase = corev1.PodRunning
	s := corev1.ConditionFalse
	if ready {
		s = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: s}}
	return p
}

func service() *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, ClusterIP: "10.96.0.20", IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("http")}}}}
}

func TestSubsets(t *testing.T) {
	terminating := pod("d", "10.0.0.4", true, 8080)
	terminating.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	done := pod("e", "10.0.0.5", true, 8080)
	done.Status.Phase = corev1.PodSucceeded
	pods := []*corev1.Pod{pod("a", "10.0.0.1", true, 8080), pod("b", "10.0.0.2", false, 8080), pod("c", "10.0.0.3", true, 9090),
		terminating, done, pod("noip", "", true, 8080)}

	got := Subsets(service(), pods)
	if len(got) != 2 {
		t.Fatalf("%d subsets, want 2 (one per resolved port): %+v", len(got), got)
	}
	byPort := map[int32]corev1.EndpointSubset{}
	for _, s := range got {
		byPort[s.Ports[0].Port] = s
	}
	s8080 := byPort[8080]
	if len(s8080.Addresses) != 1 || s8080.Addresses[0].IP != "10.0.0.1" || len(s8080.NotReadyAddresses) != 1 || s8080.NotReadyAddresses[0].IP != "10.0.0.2" {
		t.Fatalf("subset 8080: %+v", s8080)
	}
	a := s8080.Addresses[0]
	if a.NodeName == nil || *a.NodeName != "node-1" || a.TargetRef == nil || a.TargetRef.Kind != "Pod" || a.TargetRef.Name != "a" || a.TargetRef.UID != "uid-a" {
		t.Fatalf("address %+v", a)
	}
	if s := byPort[9090]; len(s.Addresses) != 1 || s.Addresses[0].IP != "10.0.0.3" || s.Ports[0].Name != "http" {
		t.Fatalf("subset 9090: %+v", s)
	}

	svc := service()
	svc.Spec.PublishNotReadyAddresses = true
	got = Subsets(svc, pods)
	n := 0
	for _, s := range got {
		if len(s.NotReadyAddresses) != 0 {
			t.Fatalf("publishNotReadyAddresses: not-ready addresses %+v", s.NotReadyAddresses)
		}
		n += len(s.Addresses)
	}
	if n != 4 {
		t.Fatalf("publishNotReadyAddresses: %d addresses, want 4 (the terminating pod included)", n)
	}
}

func TestHostnameAndHeadless(t *testing.T) {
	svc := service()
	svc.Spec.ClusterIP = corev1.ClusterIPNone
	svc.Spec.Ports = nil
	p := pod("a", "10.0.0.1", true, 8080)
	p.Spec.Hostname, p.Spec.Subdomain = "host-a", "web"
	got := Subsets(svc, []*corev1.Pod{p})
	if len(got) != 1 || len(got[0].Ports) != 0 || got[0].Addresses[0].Hostname != "host-a" {
		t.Fatalf("headless without ports: %+v", got)
	}
	if _, ok := Labels(svc)[corev1.IsHeadlessService]; !ok {
		t.Fatalf("headless label missing: %v", Labels(svc))
	}
	if _, ok := Labels(service())[corev1.IsHeadlessService]; ok {
		t.Fatal("headless label on a ClusterIP Service")
	}
}

func TestTruncate(t *testing.T) {
	ep := &corev1.Endpoints{}
	var ready, notReady []corev1.EndpointAddress
	for i := range 900 {
		ready = append(ready, corev1.EndpointAddress{IP: fmt.Sprintf("10.0.%d.%d", i/256, i%256)})
	}
	for i := range 300 {
		notReady = append(notReady, corev1.EndpointAddress{IP: fmt.Sprintf("10.1.%d.%d", i/256, i%256)})
	}
	ep.Subsets = []corev1.EndpointSubset{{Addresses: ready, NotReadyAddresses: notReady}}
	if !Truncate(ep) {
		t.Fatal("1200 addresses not truncated")
	}
	if len(ep.Subsets[0].Addresses) != 900 || len(ep.Subsets[0].NotReadyAddresses) != 100 {
		t.Fatalf("kept %d ready, %d not ready; want 900 and 100", len(ep.Subsets[0].Addresses), len(ep.Subsets[0].NotReadyAddresses))
	}
	if Truncate(ep) {
		t.Fatal("1000 addresses truncated")
	}
}

func TestTriggerTime(t *testing.T) {
	tr := newTriggerTracker()
	svc := service()
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	svc.CreationTimestamp = metav1.Time{Time: created}
	if got := tr.compute("ns/web", svc, nil); !got.Equal(created) {
		t.Fatalf("first sync: %v, want the Service's creation", got)
	}
	if got := tr.compute("ns/web", svc, nil); !got.IsZero() {
		t.Fatalf("no change: %v", got)
	}
	p := pod("a", "10.0.0.1", true, 8080)
	readyAt := created.Add(time.Minute)
	p.Status.Conditions[0].LastTransitionTime = metav1.Time{Time: readyAt}
	if got := tr.compute("ns/web", svc, []*corev1.Pod{p}); !got.Equal(readyAt) {
		t.Fatalf("pod became ready: %v, want %v", got, readyAt)
	}
}
