package replicaset

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/clusterkit/clusterkit/reference/controllers/runner"
)

// owners is the kind whose pods the controller manages, seen as ReplicaSets: apps/v1
// ReplicaSet itself, or core/v1 ReplicationController converted (as kube-controller-manager's
// replication controller runs the ReplicaSet controller's code through a conversion).
type owners interface {
	// name is the controller's name; kind is the owner kind set in pods' controller references.
	name() string
	kind() schema.GroupVersionKind
	informer() cache.SharedIndexInformer
	// get and list read the informer's cache.
	get(namespace, name string) (*appsv1.ReplicaSet, error)
	list(namespace string) ([]*appsv1.ReplicaSet, error)
	// live reads the API server.
	live(ctx context.Context, namespace, name string) (*appsv1.ReplicaSet, error)
	// updateStatus writes rs.Status to the owner's status (rs carries its metadata).
	updateStatus(ctx context.Context, rs *appsv1.ReplicaSet) error
}

var rsKind = appsv1.SchemeGroupVersion.WithKind("ReplicaSet")

type replicaSets struct {
	client kubernetes.Interface
	inf    cache.SharedIndexInformer
	lister appslisters.ReplicaSetLister
}

func newReplicaSets(c runner.Context) owners {
	inf := c.Informers.Apps().V1().ReplicaSets()
	return &replicaSets{client: c.Client, inf: inf.Informer(), lister: inf.Lister()}
}

func (r *replicaSets) name() string                        { return Name }
func (r *replicaSets) kind() schema.GroupVersionKind       { return rsKind }
func (r *replicaSets) informer() cache.SharedIndexInformer { return r.inf }
func (r *replicaSets) get(ns, name string) (*appsv1.ReplicaSet, error) {
	return r.lister.ReplicaSets(ns).Get(name)
}
func (r *replicaSets) list(ns string) ([]*appsv1.ReplicaSet, error) {
	return r.lister.ReplicaSets(ns).List(labels.Everything())
}
func (r *replicaSets) live(ctx context.Context, ns, name string) (*appsv1.ReplicaSet, error) {
	return r.client.AppsV1().ReplicaSets(ns).Get(ctx, name, metav1.GetOptions{})
}
func (r *replicaSets) updateStatus(ctx context.Context, rs *appsv1.ReplicaSet) error {
	_, err := r.client.AppsV1().ReplicaSets(rs.Namespace).UpdateStatus(ctx, rs, metav1.UpdateOptions{})
	return err
}
