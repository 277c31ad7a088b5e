package knownbad

import (
	"context"
	"encoding/json"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/controllers/nodeipam"
	"github.com/clusterkit/clusterkit/reference/controllers/nodelifecycle"
	"github.com/clusterkit/clusterkit/reference/controllers/podgc"
	"github.com/clusterkit/clusterkit/reference/controllers/runner"
)

// SameCIDRNodeIPAM is a node IPAM controller that forgets what it handed out: every Node
// without a pod CIDR gets the first block of the cluster CIDR, so all nodes share one.
func SameCIDRNodeIPAM() runner.Factory {
	return func(c runner.Context) (interfaces.Controller, error) {
		nodeInf := c.Informers.Core().V1().Nodes()
		if _, err := nodeInf.Informer().AddEventHandler(runner.EnqueueSelf(c.Queue)); err != nil {
			return nil, err
		}
		return &sameCIDRNodeIPAM{client: c.Client, nodes: nodeInf.Lister()}, nil
	}
}

type sameCIDRNodeIPAM struct {
	client kubernetes.Interface
	nodes  corelisters.NodeLister
}

func (s *sameCIDRNodeIPAM) Name() string { return nodeipam.Name }

func (s *sameCIDRNodeIPAM) Reconcile(ctx context.Context, key string) (interfaces.ReconcileResult, error) {
	n, err := s.nodes.Get(key)
	if apierrors.IsNotFound(err) || (err == nil && n.Spec.PodCIDR != "") {
		return interfaces.ReconcileResult{}, nil
	}
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	a, err := nodeipam.NewAllocator(nodeipam.DefaultClusterCIDR, nodeipam.DefaultNodeMaskSize)
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	first := a.Block(0).String()
	patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"podCIDR": first, "podCIDRs": []string{first}}})
	_, err = s.client.CoreV1().Nodes().Patch(ctx, key, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	return interfaces.ReconcileResult{}, err
}

// BlindPodGC is a pod garbage collector that never looks at whether a pod's node exists: it
// force-deletes every pod bound to any node once it has been around for the quarantine.
func BlindPodGC() runner.Factory {
	return podGCFactory(func(ctx context.Context, g *fakePodGC, p *corev1.Pod) bool {
		return p.Spec.NodeName != "" && g.clock.Since(p.CreationTimestamp.Time) >= podgc.DefaultQuarantineTime
	})
}

// OrphanKeepingPodGC is a pod garbage collector that only ever collects terminating pods that
// were never scheduled: pods of deleted nodes stay forever.
func OrphanKeepingPodGC() runner.Factory {
	return podGCFactory(func(ctx context.Context, g *fakePodGC, p *corev1.Pod) bool {
		return p.DeletionTimestamp != nil && p.Spec.NodeName == ""
	})
}

func podGCFactory(collect func(context.Context, *fakePodGC, *corev1.Pod) bool) runner.Factory {
	return func(c runner.Context) (interfaces.Controller, error) {
		podInf := c.Informers.Core().V1().Pods()
		kick := func(any) { c.Queue.Add("podgc") }
		if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: kick}); err != nil {
			return nil, err
		}
		return &fakePodGC{client: c.Client, pods: podInf.Lister(), clock: c.Clock, collect: collect}, nil
	}
}

type fakePodGC struct {
	client  kubernetes.Interface
	pods    corelisters.PodLister
	clock   runner.Clock
	collect func(context.Context, *fakePodGC, *corev1.Pod) bool
}

func (g *fakePodGC) Name() string { return podgc.Name }

func (g *fakePodGC) Reconcile(ctx context.Context, _ string) (interfaces.ReconcileResult, error) {
	pods, err := g.pods.List(labels.Everything())
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	for _, p := range pods {
		if g.collect(ctx, g, p) {
			_ = g.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))})
		}
	}
	return interfaces.ReconcileResult{RequeueAfter: 20 * time.Second}, nil
}

// NeverDeletingNodeLifecycle is a node lifecycle controller that marks and taints dead nodes
// but, whatever deletion grace it is said to have, never deletes one.
func NeverDeletingNodeLifecycle() runner.Factory {
	return nodelifecycle.New(nodelifecycle.Config{})
}

// StatusAgeNodeLifecycle is the reference node lifecycle controller deleting nodes after
// deleteAfter that also judges a node dead by its Ready condition's lastHeartbeatTime alone:
// a node whose kubelet renews its Lease but seldom posts its status (upstream kubelets post it
// every five minutes when nothing changes) is deleted while alive.
func StatusAgeNodeLifecycle(deleteAfter time.Duration) runner.Factory {
	ref := nodelifecycle.New(nodelifecycle.Config{DeleteAfter: deleteAfter})
	return func(c runner.Context) (interfaces.Controller, error) {
		inner, err := ref(c)
		if err != nil {
			return nil, err
		}
		return &statusAgeNodeLifecycle{Controller: inner, client: c.Client, nodes: c.Informers.Core().V1().Nodes().Lister(),
			clock: c.Clock, limit: nodelifecycle.DefaultGracePeriod + deleteAfter}, nil
	}
}

type statusAgeNodeLifecycle struct {
	interfaces.Controller
	client kubernetes.Interface
	nodes  corelisters.NodeLister
	clock  runner.Clock
	limit  time.Duration
}

func (s *statusAgeNodeLifecycle) Reconcile(ctx context.Context, key string) (interfaces.ReconcileResult, error) {
	res, err := s.Controller.Reconcile(ctx, key)
	n, gerr := s.nodes.Get(key)
	if gerr != nil {
		return res, err
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady && s.clock.Since(c.LastHeartbeatTime.Time) > s.limit {
			if derr := s.client.CoreV1().Nodes().Delete(ctx, n.Name, metav1.DeleteOptions{}); derr != nil && !apierrors.IsNotFound(derr) {
				return res, derr
			}
		}
	}
	return res, err
}

// SilentNodeLifecycle is the reference node lifecycle controller without its Event recorder:
// it marks, taints and evicts, but `kubectl describe node` shows no RegisteredNode nor
// NodeNotReady from it.
func SilentNodeLifecycle() runner.Factory {
	ref := nodelifecycle.New(nodelifecycle.Config{})
	return func(c runner.Context) (interfaces.Controller, error) {
		c.Recorder = nil
		return ref(c)
	}
}
