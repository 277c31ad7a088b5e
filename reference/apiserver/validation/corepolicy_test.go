package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func errPaths(errs field.ErrorList) map[string]bool {
	out := map[string]bool{}
	for _, e := range errs {
		out[e.Field] = true
	}
	return out
}

func TestReplicationControllerDefaultsAndValidation(t *testing.T) {
	rc := &corev1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Name: "rc", Namespace: "ns"},
		Spec: corev1.ReplicationControllerSpec{Template: &corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}},
		}},
	}
	k := ReplicationControllerKind()
	k.Default(rc)
	if rc.Spec.Selector["app"] != "web" || rc.Labels["app"] != "web" || rc.Spec.Replicas == nil || *rc.Spec.Replicas != 1 {
		t.Fatalf("defaults not applied: %+v", rc)
	}
	if errs := k.Validate(rc); len(errs) != 0 {
		t.Fatalf("valid rc rejected: %v", errs)
	}
	bad := rc.DeepCopy()
	bad.Spec.Selector = map[string]string{"app": "other"}
	neg := int32(-1)
	bad.Spec.Replicas = &neg
	bad.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
	got := errPaths(k.Validate(bad))
	for _, p := range []string{"spec.replicas", "spec.template.metadata.labels", "spec.template.spec.restartPolicy"} {
		if !got[p] {
			t.Errorf("missing error at %s: %v", p, got)
		}
	}
	noTemplate := &corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Name: "rc", Namespace: "ns"}}
	k.Default(noTemplate)
	got = errPaths(k.Validate(noTemplate))
	if !got["spec.selector"] || !got["spec.template"] {
		t.Errorf("want spec.selector and spec.template required, got %v", got)
	}
}

func TestLimitRangeDefaultsAndValidation(t *testing.T) {
	lr := &corev1.LimitRange{
		ObjectMeta: metav1.ObjectMeta{Name: "lr", Namespace: "ns"},
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type: corev1.LimitTypeContainer,
			Max:  corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
			Min:  corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")},
		}}},
	}
	k := LimitRangeKind()
	k.Default(lr)
	item := lr.Spec.Limits[0]
	if q := item.Default[corev1.ResourceCPU]; q.String() != "1" {
		t.Errorf("default cpu limit = %s, want the max 1", q.String())
	}
	if q := item.DefaultRequest[corev1.ResourceCPU]; q.String() != "1" {
		t.Errorf("default cpu request = %s, want the default limit 1", q.String())
	}
	if q := item.DefaultRequest[corev1.ResourceMemory]; q.String() != "64Mi" {
		t.Errorf("default memory request = %s, want the min 64Mi", q.String())
	}
	if errs := k.Validate(lr); len(errs) != 0 {
		t.Fatalf("valid limit range rejected: %v", errs)
	}
	bad := &corev1.LimitRange{
		ObjectMeta: metav1.ObjectMeta{Name: "lr", Namespace: "ns"},
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{
			{Type: corev1.LimitTypeContainer, Min: corev1.ResourceList{"cpu": resource.MustParse("2")}, Max: corev1.ResourceList{"cpu": resource.MustParse("1")}},
			{Type: corev1.LimitTypeContainer},
			{Type: corev1.LimitTypePod, Default: corev1.ResourceList{"cpu": resource.MustParse("1")}},
			{Type: "Bogus"},
		}},
	}
	got := errPaths(k.Validate(bad))
	for _, p := range []string{"spec.limits[0].min[cpu]", "spec.limits[1].type", "spec.limits[2].default", "spec.limits[3].type"} {
		if !got[p] {
			t.Errorf("missing error at %s: %v", p, got)
		}
	}
}

func TestResourceQuotaValidation(t *testing.T) {
	k := ResourceQuotaKind()
	q := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "q", Namespace: "ns"},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{
			"pods": resource.MustParse("3"), "count/deployments.apps": resource.MustParse("2"), "requests.cpu": resource.MustParse("1"),
		}},
	}
	if errs := k.Validate(q); len(errs) != 0 {
		t.Fatalf("valid quota rejected: %v", errs)
	}
	bad := q.DeepCopy()
	bad.Spec.Hard = corev1.ResourceList{"pods": resource.MustParse("1500m"), "bogus": resource.MustParse("1"), "secrets": resource.MustParse("-1")}
	bad.Spec.Scopes = []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort}
	got := errPaths(k.Validate(bad))
	for _, p := range []string{"spec.hard[pods]", "spec.hard[bogus]", "spec.hard[secrets]", "spec.scopes"} {
		if !got[p] {
			t.Errorf("missing error at %s: %v", p, got)
		}
	}
	scoped := q.DeepCopy()
	scoped.Spec.Hard = corev1.ResourceList{"pods": resource.MustParse("1")}
	scoped.Spec.Scopes = []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeBestEffort}
	if errs := k.Validate(scoped); len(errs) != 0 {
		t.Fatalf("valid scoped quota rejected: %v", errs)
	}
	changed := scoped.DeepCopy()
	changed.Spec.Scopes = nil
	if got := errPaths(k.ValidateUpdate(changed, scoped)); !got["spec.scopes"] {
		t.Errorf("scope change allowed: %v", got)
	}
}
