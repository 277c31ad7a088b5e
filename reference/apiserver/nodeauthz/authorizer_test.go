package nodeauthz

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/tools/cache"
)

// TestReadReferencedObject checks the reads a kubelet makes of a ConfigMap its pod uses: a get,
// and the list and watch of that one object (fieldSelector metadata.name=NAME, which the request
// info carries as the name) that the kubelet's watch-based ConfigMap and Secret sources send.
func TestReadReferencedObject(t *testing.T) {
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{byNode: func(obj any) ([]string, error) {
		return []string{obj.(*corev1.Pod).Spec.NodeName}, nil
	}})
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Spec: corev1.PodSpec{NodeName: "n1",
		Volumes: []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}}}}}}
	if err := idx.Add(pod); err != nil {
		t.Fatal(err)
	}
	a := New()
	a.pods.Store(&idx)
	node := &user.DefaultInfo{Name: NodeUserPrefix + "n1", Groups: []string{NodesGroup}}
	other := &user.DefaultInfo{Name: NodeUserPrefix + "n2", Groups: []string{NodesGroup}}
	for _, tc := range []struct {
		name      string
		user      user.Info
		verb, obj string
		namespace string
		want      authorizer.Decision
	}{
		{"get", node, "get", "cm", "ns", authorizer.DecisionAllow},
		{"list of the object", node, "list", "cm", "ns", authorizer.DecisionAllow},
		{"watch of the object", node, "watch", "cm", "ns", authorizer.DecisionAllow},
		{"watch of every ConfigMap", node, "watch", "", "ns", authorizer.DecisionNoOpinion},
		{"watch of another ConfigMap", node, "watch", "other", "ns", authorizer.DecisionNoOpinion},
		{"watch in another namespace", node, "watch", "cm", "ns2", authorizer.DecisionNoOpinion},
		{"watch by another node", other, "watch", "cm", "ns", authorizer.DecisionNoOpinion},
		{"update", node, "update", "cm", "ns", authorizer.DecisionNoOpinion},
	} {
		t.Run(tc.name, func(t *testing.T) {
			attrs := authorizer.AttributesRecord{User: tc.user, Verb: tc.verb, Namespace: tc.namespace, Resource: "configmaps", Name: tc.obj, ResourceRequest: true}
			got, reason, err := a.Authorize(context.Background(), attrs)
			if err != nil || got != tc.want {
				t.Errorf("decision %v (%s, %v), want %v", got, reason, err, tc.want)
			}
		})
	}
}
