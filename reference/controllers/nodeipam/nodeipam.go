package nodeipam

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"net/netip"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/controllers/runner"
)

// Name of the controller in a manager (kube-controller-manager's alias).
const Name = "nodeipam"

// Defaults, as kubeadm and kind configure kube-controller-manager.
const (
	DefaultClusterCIDR  = "10.244.0.0/16"
	DefaultNodeMaskSize = 24
	// ReasonCIDRNotAvailable is the reason of the Event of a node no block is left for.
	ReasonCIDRNotAvailable = "CIDRNotAvailable"
	retryFull              = 30 * time.Second
)

// Config configures the controller.
type Config struct {
	// ClusterCIDR is the IPv4 range node pod CIDRs are carved from (default
	// DefaultClusterCIDR).
	ClusterCIDR string
	// NodeMaskSize is the prefix length of each node's block (default DefaultNodeMaskSize).
	NodeMaskSize int
}

// Allocator hands out the NodeMaskSize blocks of a cluster CIDR in order.
type Allocator struct {
	cluster netip.Prefix
	bits    int
}

// NewAllocator parses a cluster CIDR and a node mask size.
func NewAllocator(clusterCIDR string, maskSize int) (*Allocator, error) {
	p, err := netip.ParsePrefix(clusterCIDR)
	if err != nil {
		return nil, fmt.Errorf("nodeipam: cluster CIDR %q: %w", clusterCIDR, err)
	}
	p = p.Masked()
	if maskSize < p.Bits() || maskSize > p.Addr().BitLen() {
		return nil, fmt.Errorf("nodeipam: node mask size %d does not fit cluster CIDR %s", maskSize, p)
	}
	if maskSize-p.Bits() > 20 {
		return nil, fmt.Errorf("nodeipam: cluster CIDR %s holds more than 2^20 /%d blocks", p, maskSize)
	}
	return &Allocator{cluster: p, bits: maskSize}, nil
}

// Size is the number of blocks.
func (a *Allocator) Size() int { return 1 << (a.bits - a.cluster.Bits()) }

// Block returns the i-th block.
func (a *Allocator) Block(i int) netip.Prefix {
	base := new(big.Int).SetBytes(a.cluster.Addr().AsSlice())
	step := new(big.Int).Lsh(big.NewInt(int64(i)), uint(a.cluster.Addr().BitLen()-a.bits))
	b := base.Add(base, step).FillBytes(make([]byte, a.cluster.Addr().BitLen()/8))
	addr, _ := netip.AddrFromSlice(b)
	return netip.PrefixFrom(addr, a.bits)
}

// Contains reports whether cidr is one of the allocator's blocks.
func (a *Allocator) Contains(cidr string) bool {
	p, err := netip.ParsePrefix(cidr)
	return err == nil && p.Bits() == a.bits && a.cluster.Contains(p.Addr()) && p.Masked() == p
}

// New returns the factory of the node IPAM controller. Its keys are node names.
func New(cfg Config) runner.Factory {
	if cfg.ClusterCIDR == "" {
		cfg.ClusterCIDR = DefaultClusterCIDR
	}
	if cfg.NodeMaskSize == 0 {
		cfg.NodeMaskSize = DefaultNodeMaskSize
	}
	return func(c runner.Context) (interfaces.Controller, error) {
		alloc, err := NewAllocator(cfg.ClusterCIDR, cfg.NodeMaskSize)
		if err != nil {
			return nil, err
		}
		nodeInf := c.Informers.Core().V1().Nodes()
		ctl := &controller{ctx: c, client: c.Client, nodes: nodeInf.Lister(), alloc: alloc, pending: map[string]string{}}
		if _, err := nodeInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: func(obj any) {
				if n, ok := obj.(*corev1.Node); ok && n.Spec.PodCIDR == "" {
					c.Queue.Add(n.Name)
				}
			},
			UpdateFunc: func(_, obj any) {
				if n, ok := obj.(*corev1.Node); ok && n.Spec.PodCIDR == "" {
					c.Queue.Add(n.Name)
				}
			},
			DeleteFunc: func(obj any) {
				if k, ok := runner.Key(obj); ok {
					c.Queue.Add(k)
				}
			},
		}); err != nil {
			return nil, err
		}
		return ctl, nil
	}
}

type controller struct {
	ctx    runner.Context
	client kubernetes.Interface
	nodes  corelisters.NodeLister
	alloc  *Allocator

	// mu serializes allocations; pending holds the blocks this controller wrote that the
	// informer may not show yet, by node, so two workers never pick the same block.
	mu      sync.Mutex
	pending map[string]string
}

func (c *controller) Name() string { return Name }

// Reconcile gives node key a pod CIDR if it has none.
func (c *controller) Reconcile(ctx context.Context, key string) (interfaces.ReconcileResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	node, err := c.nodes.Get(key)
	if apierrors.IsNotFound(err) {
		delete(c.pending, key)
		return interfaces.ReconcileResult{}, nil
	}
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	if node.Spec.PodCIDR != "" {
		delete(c.pending, key)
		return interfaces.ReconcileResult{}, nil
	}
	all, err := c.nodes.List(labels.Everything())
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	used := map[string]bool{}
	live := map[string]bool{}
	for _, n := range all {
		live[n.Name] = true
		for _, cidr := range append([]string{n.Spec.PodCIDR}, n.Spec.PodCIDRs...) {
			if p, err := netip.ParsePrefix(cidr); err == nil {
				used[p.Masked().String()] = true
			}
		}
	}
	for n, cidr := range c.pending {
		if !live[n] {
			delete(c.pending, n)
			continue
		}
		if n != key {
			used[cidr] = true
		}
	}
	cidr := c.pending[key]
	if cidr == "" {
		for i := range c.alloc.Size() {
			if b := c.alloc.Block(i).String(); !used[b] {
				cidr = b
				break
			}
		}
	}
	if cidr == "" {
		c.ctx.Eventf(node, corev1.EventTypeNormal, ReasonCIDRNotAvailable, "Node %s status is now: %s", node.Name, ReasonCIDRNotAvailable)
		return interfaces.ReconcileResult{RequeueAfter: retryFull}, nil
	}
	c.pending[key] = cidr
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"uid": node.UID},
		"spec":     map[string]any{"podCIDR": cidr, "podCIDRs": []string{cidr}},
	})
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	if _, err := c.client.CoreV1().Nodes().Patch(ctx, key, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			delete(c.pending, key)
			return interfaces.ReconcileResult{}, nil
		}
		// Someone else set a podCIDR meanwhile (validation forbids changing it): the update
		// event requeues nothing, the informer brings the value.
		return interfaces.ReconcileResult{}, fmt.Errorf("setting the podCIDR of node %s: %w", key, err)
	}
	return interfaces.ReconcileResult{}, nil
}
