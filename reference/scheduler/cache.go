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
	// nominated holds the pods nominated to a node, by UID.
	nominated map[types.UID]nomination
}

func newNodeCache() *nodeCache {
	return &nodeCache{nodes: map[string]*interfaces.NodeInfo{}, pods: map[types.UID]*podState{}, nominated: map[types.UID]nomination{}}
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
}

// removeNode forgets a node (its pods' accounting stays until they go).
func (c *nodeCache) removeNode(name string) {
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
	delete(c.nominated, pod.UID)
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
	req := plugins.PodRequests(pod)
	n := c.info(node)
	plugins.AddRequests(n.Requested, req)
	n.Pods++
	n.PodList = append(n.PodList, pod)
	if plugins.HasPodAffinity(pod) {
		n.PodsWithAffinity = append(n.PodsWithAffinity, pod)
	}
	c.pods[pod.UID] = &podState{node: node, requests: req, assumed: assumed, pod: pod}
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
	delete(c.nominated, uid)
	st, ok := c.pods[uid]
	if !ok {
		return false
	}
	delete(c.pods, uid)
	if n, ok := c.nodes[st.node]; ok {
		plugins.SubRequests(n.Requested, st.requests)
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
		delete(c.nominated, pod.UID)
		return
	}
	if _, bound := c.pods[pod.UID]; bound {
		return
	}
	c.nominated[pod.UID] = nomination{node: node, priority: podPriority(pod), requests: plugins.PodRequests(pod)}
}

// nominatedNode is the node the pod is nominated to ("" when none).
// Callers hold mu.
func (c *nodeCache) nominatedNode(pod *corev1.Pod) string {
	return c.nominated[pod.UID].node
}

// snapshotFor is the snapshot the pod is filtered against: like kube-
// scheduler, the pods nominated to a node with a priority at least the
// pod's count against that node (the pod's own nomination does not).
// Nodes with such nominations are copies; the others are shared. Callers
// hold mu.
func (c *nodeCache) snapshotFor(pod *corev1.Pod) []*interfaces.NodeInfo {
	base := c.snapshot()
	if len(c.nominated) == 0 {
		return base
	}
	prio := podPriority(pod)
	var extra map[string][]corev1.ResourceList
	for uid, nom := range c.nominated {
		if uid == pod.UID || nom.priority < prio {
			continue
		}
		if extra == nil {
			extra = map[string][]corev1.ResourceList{}
		}
		extra[nom.node] = append(extra[nom.node], nom.requests)
	}
	if len(extra) == 0 {
		return base
	}
	out := make([]*interfaces.NodeInfo, len(base))
	for i, n := range base {
		reqs, ok := extra[n.Node.Name]
		if !ok {
			out[i] = n
			continue
		}
		cp := &interfaces.NodeInfo{Node: n.Node, Requested: n.Requested.DeepCopy(), Pods: n.Pods, PodList: n.PodList, PodsWithAffinity: n.PodsWithAffinity}
		if cp.Requested == nil {
			cp.Requested = corev1.ResourceList{}
		}
		for _, r := range reqs {
			plugins.AddRequests(cp.Requested, r)
			cp.Pods++
		}
		out[i] = cp
	}
	return out
}
