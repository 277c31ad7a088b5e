package scheduler

import (
	"maps"
	"slices"
	"sort"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/scheduler/plugins"
)

// podState is what the cache counts for one pod.
type podState struct {
	node     string
	requests corev1.ResourceList
	// nonZeroCPU and nonZeroMem are its plugins.NonZeroRequests.
	nonZeroCPU, nonZeroMem int64
	// assumed: placed by this scheduler, binding not yet observed.
	assumed bool
	// pod is the latest object seen, for preemption (its priority, labels,
	// start time).
	pod *corev1.Pod
}

// nomination is a pending pod nominated to a node by preemption: it counts
// against the node for pods of lower or equal priority until it is bound,
// deleted, or nominated elsewhere.
type nomination struct {
	node     string
	priority int32
	requests corev1.ResourceList
}

// nodeCache is the node snapshot: every node with what the pods bound or
// assumed to it request. The scheduling loop reads it under mu's read lock
// (or holds the write lock while it places and assumes), informer handlers
// change it under the write lock.
type nodeCache struct {
	mu    sync.RWMutex
	nodes map[string]*interfaces.NodeInfo
	// list is the nodes that exist (Node != nil), sorted by name; rebuilt
	// when nodes come and go.
	list  []*interfaces.NodeInfo
	dirty bool
	pods  map[types.UID]*podState
	// index is each existing node's position in list.
	index map[string]int
	// nominated holds the pods nominated to a node, by UID; byNode holds
	// the same nominations by node (as kube-scheduler keeps them), so that
	// a snapshot only visits the nodes that have some.
	nominated map[types.UID]nomination
	byNode    map[string]map[types.UID]nomination
	// withNominated caches, by node, a copy of the node's NodeInfo with
	// every pod nominated to it counted: what most pods are filtered
	// against. An entry is dropped when the node, its pods or its
	// nominations change.
	withNominated map[string]*interfaces.NodeInfo
}

func newNodeCache() *nodeCache {
	return &nodeCache{nodes: map[string]*interfaces.NodeInfo{}, pods: map[types.UID]*podState{},
		nominated: map[types.UID]nomination{}, byNode: map[string]map[types.UID]nomination{},
		withNominated: map[string]*interfaces.NodeInfo{}}
}

// changed drops what the cache derived from a node that changed (its
// object, its pods, or its nominations). Callers hold mu.
func (c *nodeCache) changed(node string) {
	delete(c.withNominated, node)
}

func (c *nodeCache) info(name string) *interfaces.NodeInfo {
	n, ok := c.nodes[name]
	if !ok {
		n = &interfaces.NodeInfo{Requested: corev1.ResourceList{}}
		c.nodes[name] = n
	}
	return n
}

// setNode adds or replaces a node. Callers hold mu.
func (c *nodeCache) setNode(node *corev1.Node) {
	n := c.info(node.Name)
	if n.Node == nil {
		c.dirty = true
	}
	n.Node = node
	c.changed(node.Name)
}

// removeNode forgets a node (its pods' accounting stays until they go).
func (c *nodeCache) removeNode(name string) {
	c.changed(name)
	if n, ok := c.nodes[name]; ok {
		n.Node = nil
		if n.Pods == 0 {
			delete(c.nodes, name)
		}
		c.dirty = true
	}
}

// snapshot returns the existing nodes, sorted by name. Callers hold mu.
func (c *nodeCache) snapshot() []*interfaces.NodeInfo {
	if c.dirty {
		c.list = c.list[:0]
		for _, n := range c.nodes {
			if n.Node != nil {
				c.list = append(c.list, n)
			}
		}
		sort.Slice(c.list, func(i, j int) bool { return c.list[i].Node.Name < c.list[j].Node.Name })
		c.index = make(map[string]int, len(c.list))
		for i, n := range c.list {
			c.index[n.Node.Name] = i
		}
		c.dirty = false
	}
	return c.list
}

// assume counts the pod on node before its binding is observed. Callers
// hold mu.
func (c *nodeCache) assume(pod *corev1.Pod, node string) {
	c.addLocked(pod, node, true)
}

// forget removes an assumed pod whose binding failed.
func (c *nodeCache) forget(pod *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.pods[pod.UID]; ok && st.assumed {
		c.removeLocked(pod.UID)
	}
}

// addBound records a pod the API shows bound to a node (and not finished);
// it reports whether the pod is new on its node or was relabelled.
func (c *nodeCache) addBound(pod *corev1.Pod) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addLocked(pod, pod.Spec.NodeName, false)
}

// addLocked counts the pod on node; it reports whether the pod is new
// there, its binding was just observed (as kube-scheduler, which retries
// on an assigned pod's Add event, does not at the assume), or its labels
// changed: what inter-pod affinity and topology spread look at.
func (c *nodeCache) addLocked(pod *corev1.Pod, node string, assumed bool) bool {
	c.dropNomination(pod.UID)
	c.changed(node)
	if st, ok := c.pods[pod.UID]; ok {
		if st.node == node {
			confirmed := st.assumed && !assumed
			st.assumed = st.assumed && assumed
			relabelled := confirmed || !maps.Equal(st.pod.Labels, pod.Labels)
			if n, ok := c.nodes[node]; ok {
				if i := slices.Index(n.PodList, st.pod); i >= 0 {
					n.PodList[i] = pod
				}
				if i := slices.Index(n.PodsWithAffinity, st.pod); i >= 0 {
					n.PodsWithAffinity[i] = pod
				}
			}
			st.pod = pod
			return relabelled
		}
		c.removeLocked(pod.UID)
	}
	req, cpu, mem := plugins.Requests(pod)
	n := c.info(node)
	plugins.AddRequests(n.Requested, req)
	n.NonZeroMilliCPU += cpu
	n.NonZeroMemory += mem
	n.Pods++
	n.PodList = append(n.PodList, pod)
	if plugins.HasPodAffinity(pod) {
		n.PodsWithAffinity = append(n.PodsWithAffinity, pod)
	}
	c.pods[pod.UID] = &podState{node: node, requests: req, nonZeroCPU: cpu, nonZeroMem: mem, assumed: assumed, pod: pod}
	return true
}

// removePod forgets a pod that was deleted or finished; it reports whether
// the pod had been counted on a node.
func (c *nodeCache) removePod(uid types.UID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.removeLocked(uid)
}

func (c *nodeCache) removeLocked(uid types.UID) bool {
	c.dropNomination(uid)
	st, ok := c.pods[uid]
	if !ok {
		return false
	}
	delete(c.pods, uid)
	c.changed(st.node)
	if n, ok := c.nodes[st.node]; ok {
		plugins.SubRequests(n.Requested, st.requests)
		n.NonZeroMilliCPU -= st.nonZeroCPU
		n.NonZeroMemory -= st.nonZeroMem
		n.Pods--
		if i := slices.Index(n.PodList, st.pod); i >= 0 {
			last := len(n.PodList) - 1
			n.PodList[i] = n.PodList[last]
			n.PodList[last] = nil
			n.PodList = n.PodList[:last]
		}
		n.PodsWithAffinity = slices.DeleteFunc(n.PodsWithAffinity, func(p *corev1.Pod) bool { return p == st.pod })
		if n.Node == nil && n.Pods == 0 {
			delete(c.nodes, st.node)
		}
	}
	return true
}

// nominate records (node != "") or clears (node == "") the pod's
// nomination. Callers hold mu.
func (c *nodeCache) nominate(pod *corev1.Pod, node string) {
	if node == "" {
		c.dropNomination(pod.UID)
		return
	}
	if _, bound := c.pods[pod.UID]; bound {
		return
	}
	c.dropNomination(pod.UID)
	nom := nomination{node: node, priority: podPriority(pod), requests: plugins.PodRequests(pod)}
	c.nominated[pod.UID] = nom
	on := c.byNode[node]
	if on == nil {
		on = map[types.UID]nomination{}
		c.byNode[node] = on
	}
	on[pod.UID] = nom
	c.changed(node)
}

// dropNomination forgets the pod's nomination, if any. Callers hold mu.
func (c *nodeCache) dropNomination(uid types.UID) {
	nom, ok := c.nominated[uid]
	if !ok {
		return
	}
	delete(c.nominated, uid)
	if on := c.byNode[nom.node]; on != nil {
		delete(on, uid)
		if len(on) == 0 {
			delete(c.byNode, nom.node)
		}
	}
	c.changed(nom.node)
}

// nominatedNode is the node the pod is nominated to ("" when none).
// Callers hold mu.
func (c *nodeCache) nominatedNode(pod *corev1.Pod) string {
	return c.nominated[pod.UID].node
}

// snapshotFor is the snapshot the pod is filtered against: like kube-
// scheduler, the pods nominated to a node with a priority at least the
// pod's count against that node (the pod's own nomination does not).
// Nodes with such nominations are copies (cached while every nomination
// there counts); the others are shared. Callers hold mu.
func (c *nodeCache) snapshotFor(pod *corev1.Pod) []*interfaces.NodeInfo {
	base := c.snapshot()
	if len(c.byNode) == 0 {
		return base
	}
	prio := podPriority(pod)
	var out []*interfaces.NodeInfo
	for name, on := range c.byNode {
		i, ok := c.index[name]
		if !ok {
			continue // nominated to a node that is gone
		}
		counts := func(uid types.UID, nom nomination) bool { return uid != pod.UID && nom.priority >= prio }
		all, some := true, false
		for uid, nom := range on {
			if counts(uid, nom) {
				some = true
			} else {
				all = false
			}
		}
		if !some {
			continue
		}
		var n *interfaces.NodeInfo
		if all {
			n = c.withNominated[name]
			if n == nil {
				n = withNominations(base[i], on, nil)
				c.withNominated[name] = n
			}
		} else {
			n = withNominations(base[i], on, counts)
		}
		if out == nil {
			out = slices.Clone(base)
		}
		out[i] = n
	}
	if out == nil {
		return base
	}
	return out
}

// withNominations is a copy of n with the nominations that count (all when
// counts is nil) added to its requests and pod count.
func withNominations(n *interfaces.NodeInfo, on map[types.UID]nomination, counts func(types.UID, nomination) bool) *interfaces.NodeInfo {
	// Nominated pods count for the filters, not in the scoring's NonZero figures (kube-scheduler
	// adds them to a node only while filtering).
	cp := &interfaces.NodeInfo{Node: n.Node, Requested: n.Requested.DeepCopy(), NonZeroMilliCPU: n.NonZeroMilliCPU, NonZeroMemory: n.NonZeroMemory,
		Pods: n.Pods, PodList: n.PodList, PodsWithAffinity: n.PodsWithAffinity}
	if cp.Requested == nil {
		cp.Requested = corev1.ResourceList{}
	}
	for uid, nom := range on {
		if counts == nil || counts(uid, nom) {
			plugins.AddRequests(cp.Requested, nom.requests)
			cp.Pods++
		}
	}
	return cp
}
