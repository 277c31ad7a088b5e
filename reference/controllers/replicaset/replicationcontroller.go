package replicaset

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/clusterkit/clusterkit/reference/controllers/runner"
)

// ReplicationControllerName is the name of the ReplicationController controller in a manager.
const ReplicationControllerName = "replicationcontroller"

var rcKind = corev1.SchemeGroupVersion.WithKind("ReplicationController")

// NewReplicationController returns the factory of the ReplicationController controller: the
// ReplicaSet controller's loop over core/v1 ReplicationControllers, whose map selector is a
// ReplicaSet's matchLabels.
func NewReplicationController(cfg Config) runner.Factory {
	return newFactory(cfg, newReplicationControllers)
}

type replicationControllers struct {
	client kubernetes.Interface
	inf    cache.SharedIndexInformer
	lister corelisters.ReplicationControllerLister
}

func newReplicationControllers(c runner.Context) owners {
	inf := c.Informers.Core().V1().ReplicationControllers()
	return &replicationControllers{client: c.Client, inf: inf.Informer(), lister: inf.Lister()}
}

func (r *replicationControllers) name() string                        { return ReplicationControllerName }
func (r *replicationControllers) kind() schema.GroupVersionKind       { return rcKind }
func (r *replicationControllers) informer() cache.SharedIndexInformer { return r.inf }
func (r *replicationControllers) get(ns, name string) (*appsv1.ReplicaSet, error) {
	rc, err := r.lister.ReplicationControllers(ns).Get(name)
	if err != nil {
		return nil, err
	}
	return rcToRS(rc), nil
}
func (r *replicationControllers) list(ns string) ([]*appsv1.ReplicaSet, error) {
	rcs, err := r.lister.ReplicationControllers(ns).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	out := make([]*appsv1.ReplicaSet, len(rcs))
	for i, rc := range rcs {
		out[i] = rcToRS(rc)
	}
	return out, nil
}
func (r *replicationControllers) live(ctx context.Context, ns, name string) (*appsv1.ReplicaSet, error) {
	rc, err := r.client.CoreV1().ReplicationControllers(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return rcToRS(rc), nil
}
func (r *replicationControllers) updateStatus(ctx context.Context, rs *appsv1.ReplicaSet) error {
	rc := &corev1.ReplicationController{ObjectMeta: *rs.ObjectMeta.DeepCopy(), Spec: rsSpecToRC(&rs.Spec), Status: rsStatusToRC(rs.Status)}
	_, err := r.client.CoreV1().ReplicationControllers(rs.Namespace).UpdateStatus(ctx, rc, metav1.UpdateOptions{})
	return err
}

// rcToRS is the ReplicaSet view of a ReplicationController (metadata, spec and status).
func rcToRS(rc *corev1.ReplicationController) *appsv1.ReplicaSet {
	rs := &appsv1.ReplicaSet{ObjectMeta: *rc.ObjectMeta.DeepCopy()}
	rs.Spec.Replicas = rc.Spec.Replicas
	rs.Spec.MinReadySeconds = rc.Spec.MinReadySeconds
	rs.Spec.Selector = &metav1.LabelSelector{MatchLabels: rc.Spec.Selector}
	if rc.Spec.Template != nil {
		rs.Spec.Template = *rc.Spec.Template.DeepCopy()
	}
	st := rc.Status
	rs.Status = appsv1.ReplicaSetStatus{
		Replicas: st.Replicas, FullyLabeledReplicas: st.FullyLabeledReplicas, ReadyReplicas: st.ReadyReplicas,
		AvailableReplicas: st.AvailableReplicas, ObservedGeneration: st.ObservedGeneration,
	}
	for _, c := range st.Conditions {
		rs.Status.Conditions = append(rs.Status.Conditions, appsv1.ReplicaSetCondition{
			Type: appsv1.ReplicaSetConditionType(c.Type), Status: c.Status, LastTransitionTime: c.LastTransitionTime,
			Reason: c.Reason, Message: c.Message,
		})
	}
	return rs
}

func rsSpecToRC(s *appsv1.ReplicaSetSpec) corev1.ReplicationControllerSpec {
	out := corev1.ReplicationControllerSpec{Replicas: s.Replicas, MinReadySeconds: s.MinReadySeconds, Template: s.Template.DeepCopy()}
	if s.Selector != nil {
		out.Selector = s.Selector.MatchLabels
	}
	return out
}

func rsStatusToRC(st appsv1.ReplicaSetStatus) corev1.ReplicationControllerStatus {
	out := corev1.ReplicationControllerStatus{
		Replicas: st.Replicas, FullyLabeledReplicas: st.FullyLabeledReplicas, ReadyReplicas: st.ReadyReplicas,
		AvailableReplicas: st.AvailableReplicas, ObservedGeneration: st.ObservedGeneration,
	}
	for _, c := range st.Conditions {
		out.Conditions = append(out.Conditions, corev1.ReplicationControllerCondition{
			Type: corev1.ReplicationControllerConditionType(c.Type), Status: c.Status, LastTransitionTime: c.LastTransitionTime,
			Reason: c.Reason, Message: c.Message,
		})
	}
	return out
}
