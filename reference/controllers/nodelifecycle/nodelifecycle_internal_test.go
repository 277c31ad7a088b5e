package nodelifecycle

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestEvictionTime(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	node := &corev1.Node{Spec: corev1.NodeSpec{Taints: []corev1.Taint{
		{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoSchedule},
		{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute, TimeAdded: &metav1.Time{Time: t0}},
	}}}
	unreachable := corev1.Toleration{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}
	cases := []struct {
		name        string
		tolerations []corev1.Toleration
		want        time.Duration
		forever     bool
	}{
		{"no toleration: the default 300 s", nil, 300 * time.Second, false},
		{"tolerates 10 s", []corev1.Toleration{{Key: unreachable.Key, Operator: unreachable.Operator, Effect: unreachable.Effect, TolerationSeconds: ptr.To(int64(10))}}, 10 * time.Second, false},
		{"tolerates forever", []corev1.Toleration{unreachable}, 0, true},
		{"tolerates everything", []corev1.Toleration{{Operator: corev1.TolerationOpExists}}, 0, true},
		{"a NoSchedule toleration does not count", []corev1.Toleration{{Key: unreachable.Key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}, 300 * time.Second, false},
	}
	n := &controller{cfg: Config{DefaultTolerationSeconds: ptr.To(int64(300))}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			due, forever := n.evictionTime(&corev1.Pod{Spec: corev1.PodSpec{Tolerations: c.tolerations}}, node)
			if forever != c.forever || (!forever && due.Sub(t0) != c.want) {
				t.Fatalf("due %v forever %v; want +%v forever %v", due.Sub(t0), forever, c.want, c.forever)
			}
		})
	}
}
