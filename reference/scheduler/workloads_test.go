package scheduler

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

func TestWorkloadSelectors(t *testing.T) {
	index := func(objs ...any) cache.Indexer {
		ix := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
		for _, o := range objs {
			if err := ix.Add(o); err != nil {
				t.Fatal(err)
			}
		}
		return ix
	}
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: "ns"} }
	w := &workloadSelectors{
		services: corelisters.NewServiceLister(index(
			&corev1.Service{ObjectMeta: meta("web"), Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}}},
			&corev1.Service{ObjectMeta: meta("tier"), Spec: corev1.ServiceSpec{Selector: map[string]string{"tier": "front"}}},
			&corev1.Service{ObjectMeta: meta("headless")}, // no selector: selects nothing
			&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "elsewhere", Namespace: "other"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}}},
		)),
		rcs: corelisters.NewReplicationControllerLister(index()),
		rss: appslisters.NewReplicaSetLister(index(&appsv1.ReplicaSet{ObjectMeta: meta("web-1"),
			Spec: appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", "hash": "1"}}}})),
		sss: appslisters.NewStatefulSetLister(index()),
	}
	pod := func(owner string, kv ...string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: meta("p")}
		p.Labels = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			p.Labels[kv[i]] = kv[i+1]
		}
		if owner != "" {
			p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: owner, Controller: ptr.To(true)}}
		}
		return p
	}
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		want string
	}{
		{"no workload", pod("", "app", "db"), ""},
		{"two Services", pod("", "app", "web", "tier", "front"), "app=web,tier=front"},
		// The ReplicaSet's requirements are added to the Services' (app=web twice, as upstream).
		{"a Service and the ReplicaSet", pod("web-1", "app", "web", "hash", "1"), "app=web,app=web,hash=1"},
		{"an unknown owner", pod("gone", "app", "web"), "app=web"},
	} {
		if got := w.Selector(tc.pod).String(); got != tc.want {
			t.Errorf("%s: selector %q, want %q", tc.name, got, tc.want)
		}
	}
	if (&workloadSelectors{}).Selector(pod("", "app", "web")) != nil {
		t.Error("a selector before Run")
	}
}
