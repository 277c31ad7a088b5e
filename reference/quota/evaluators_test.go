package quota

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	quotav1 "k8s.io/apiserver/pkg/quota/v1"
	"k8s.io/apiserver/pkg/quota/v1/generic"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

func podWith(name string, req, lim string, deadline *int64) *corev1.Pod {
	c := corev1.Container{Name: "c"}
	if req != "" {
		c.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(req)}
	}
	if lim != "" {
		c.Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(lim)}
	}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{c}, ActiveDeadlineSeconds: deadline}}
}

func TestPodUsageAndScopes(t *testing.T) {
	ev := Evaluators(nil, nil)[0]
	usage, err := ev.Usage(podWith("a", "250m", "1", nil))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[corev1.ResourceName]string{"pods": "1", "count/pods": "1", "requests.cpu": "250m", "cpu": "250m", "limits.cpu": "1"} {
		if q := usage[name]; q.Cmp(resource.MustParse(want)) != 0 {
			t.Errorf("usage[%s] = %s, want %s", name, q.String(), want)
		}
	}
	done := podWith("b", "1", "", nil)
	done.Status.Phase = corev1.PodSucceeded
	usage, _ = ev.Usage(done)
	if _, charged := usage[corev1.ResourcePods]; charged {
		t.Errorf("a succeeded pod is charged: %v", usage)
	}
	terminating := &corev1.ResourceQuota{Status: corev1.ResourceQuotaStatus{Hard: corev1.ResourceList{"pods": resource.MustParse("1")}}, Spec: corev1.ResourceQuotaSpec{Scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeTerminating}}}
	if ok, _ := ev.Matches(terminating, podWith("c", "", "", nil)); ok {
		t.Error("a Terminating quota matches a pod without activeDeadlineSeconds")
	}
	if ok, _ := ev.Matches(terminating, podWith("d", "", "", ptr.To(int64(30)))); !ok {
		t.Error("a Terminating quota does not match a pod with activeDeadlineSeconds")
	}
	bestEffort := &corev1.ResourceQuota{Status: corev1.ResourceQuotaStatus{Hard: corev1.ResourceList{"pods": resource.MustParse("1")}}, Spec: corev1.ResourceQuotaSpec{Scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeBestEffort}}}
	if ok, _ := ev.Matches(bestEffort, podWith("e", "1", "", nil)); ok {
		t.Error("a BestEffort quota matches a Burstable pod")
	}
	if err := ev.Constraints([]corev1.ResourceName{"limits.memory"}, podWith("f", "1", "1", nil)); err == nil || err.Error() != "must specify limits.memory for: c" {
		t.Errorf("constraints: got %v", err)
	}
}

type listerOf []runtime.Object

func (l listerOf) List(labels.Selector) ([]runtime.Object, error)  { return l, nil }
func (l listerOf) Get(string) (runtime.Object, error)              { return nil, nil }
func (l listerOf) ByNamespace(string) cache.GenericNamespaceLister { return l }

func TestCalculateUsage(t *testing.T) {
	objs := map[string]listerOf{
		"pods":     {podWith("a", "100m", "", nil), podWith("b", "200m", "", nil)},
		"services": {&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80}, {Port: 81}}}}},
		"secrets":  {&corev1.Secret{}},
	}
	listers := func(gvr schema.GroupVersionResource) (cache.GenericLister, error) { return objs[gvr.Resource], nil }
	reg := generic.NewRegistry(Evaluators(listers, nil))
	hard := corev1.ResourceList{"pods": resource.MustParse("10"), "requests.cpu": resource.MustParse("1"), "services.nodeports": resource.MustParse("5"), "secrets": resource.MustParse("3"), "configmaps": resource.MustParse("3")}
	objs["configmaps"] = listerOf{}
	used, err := quotav1.CalculateUsage("ns", nil, hard, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[corev1.ResourceName]string{"pods": "2", "requests.cpu": "300m", "services.nodeports": "2", "secrets": "1", "configmaps": "0"} {
		if q := used[name]; q.Cmp(resource.MustParse(want)) != 0 {
			t.Errorf("used[%s] = %s, want %s", name, q.String(), want)
		}
	}
}
