package scheduler

import (
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
}

func newNodeCache() *nodeCache {
	return &nodeCache{nodes: map[string]*interfaces.NodeInfo{}, pods: map[types.UID]*podState{}}
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

// addBound records a pod the API shows bound to a node (and not finished).
func (c *nodeCache) addBound(pod *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.addLocked(pod, pod.Spec.NodeName, false)
}

func (c *nodeCache) addLocked(pod *corev1.Pod, node string, assumed bool) {
	if st, ok := c.pods[pod.UID]; ok {
		if st.node == node {
			st.assumed = st.assumed && assumed
			return
		}
		c.removeLocked(pod.UID)
	}
	req := plugins.PodRequests(pod)
	n := c.info(node)
	plugins.AddRequests(n.Requested, req)
	n.Pods++
	c.pods[pod.UID] = &podState{node: node, requests: req, assumed: assumed}
}

// removePod forgets a pod that was deleted or finished; it reports whether
// the pod had been counted on a node.
func (c *nodeCache) removePod(uid types.UID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.removeLocked(uid)
}

func (c *nodeCache) removeLocked(uid types.UID) bool {
	st, ok := c.pods[uid]
	if !ok {
		return false
	}
	delete(c.pods, uid)
	if n, ok := c.nodes[st.node]; ok {
		plugins.SubRequests(n.Requested, st.requests)
		n.Pods--
		if n.Node == nil && n.Pods == 0 {
			delete(c.nodes, st.node)
		}
	}
	return true
}
