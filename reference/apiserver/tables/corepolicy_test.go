package tables

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestCorePolicyCells(t *testing.T) {
	three := int32(3)
	template := corev1.PodTemplateSpec{}
	template.Labels = map[string]string{"app": "web"}
	template.Spec.Containers = []corev1.Container{{Name: "app", Image: "nginx"}}
	tests := []struct {
		name string
		obj  runtime.Object
		want []interface{}
	}{
		{
			name: "pod template",
			obj:  &corev1.PodTemplate{ObjectMeta: objMeta("tmpl", time.Hour), Template: template},
			want: []interface{}{"tmpl", "app", "nginx", "app=web"},
		},
		{
			name: "replication controller",
			obj: &corev1.ReplicationController{ObjectMeta: objMeta("rc", time.Hour),
				Spec:   corev1.ReplicationControllerSpec{Replicas: &three, Selector: map[string]string{"app": "web"}, Template: &template},
				Status: corev1.ReplicationControllerStatus{Replicas: 2, ReadyReplicas: 1}},
			want: []interface{}{"rc", int64(3), int64(2), int64(1), "60m", "app", "nginx", "app=web"},
		},
		{
			name: "limit range",
			obj:  &corev1.LimitRange{ObjectMeta: objMeta("limits", 3*time.Hour)},
			want: []interface{}{"limits", testNow.Add(-3 * time.Hour).UTC().Format(time.RFC3339)},
		},
		{
			name: "resource quota",
			obj: &corev1.ResourceQuota{ObjectMeta: objMeta("q", 2*time.Hour), Status: corev1.ResourceQuotaStatus{
				Hard: corev1.ResourceList{"pods": resource.MustParse("10"), "limits.cpu": resource.MustParse("2"), "requests.memory": resource.MustParse("1Gi")},
				Used: corev1.ResourceList{"pods": resource.MustParse("1"), "limits.cpu": resource.MustParse("500m")},
			}},
			want: []interface{}{"q", "pods: 1/10, requests.memory: 0/1Gi", "limits.cpu: 500m/2", "120m"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cells(t, tt.obj); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("cells mismatch\n got: %#v\nwant: %#v", got, tt.want)
			}
		})
	}
}
