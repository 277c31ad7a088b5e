package kindlab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/kubernetes"

	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/pki"
)

// NodeShape reads a node's shape from command-line values as a lab configuration file's node
// entry would give them (labels, taints as KEY[=VALUE]:EFFECT, cpu, memory and pods
// quantities; empty for the lab's default); errors name the value.
func NodeShape(labels map[string]string, taints []string, cpu, memory, pods string) (NodeConfig, error) {
	shape, errs := FileNode{Labels: labels, Taints: taints, CPU: cpu, Memory: memory, Pods: pods}.shape(field.NewPath("node"))
	if err := errs.ToAggregate(); err != nil {
		return NodeConfig{}, err
	}
	return shape, nil
}

// AddNode adds a worker node to a running lab, as kubeadm join does on a new machine: the next
// free name (NAME-node-K), address and pod subnet, its network namespace on the lab bridge with
// routes to and from every other node's pods, its kubelet identity, its container; it returns
// once the Node is Ready, shaped (labels, taints) and its kube-proxy pod Ready.
func (l *Lab) AddNode(ctx context.Context, shape NodeConfig, say func(string, ...any)) (Node, error) {
	if say == nil {
		say = func(string, ...any) {}
	}
	if cp := l.ControlPlaneNode(); cp == nil || !l.owns(cp.PID) {
		return Node{}, fmt.Errorf("lab %s's control-plane node is not running: a node can join a running lab only", l.Name)
	}
	n := l.nextWorker()
	n.Labels, n.Taints, n.Capacity = shape.Labels, shape.Taints, shape.Capacity
	client, err := l.adminClient()
	if err != nil {
		return Node{}, err
	}
	say("adding node %s (%s, pods %s)", n.Name, n.IP, n.PodSubnet)
	l.Nodes = append(l.Nodes, n)
	if err := l.save(); err != nil {
		return Node{}, err
	}
	added := &l.Nodes[len(l.Nodes)-1]
	ok := false
	defer func() {
		if !ok {
			say("adding node %s failed: removing it (its log stays in %s)", n.Name, filepath.Join(l.Dir, "logs", n.Name+".log"))
			_ = l.removeNode(context.Background(), *added)
		}
	}()
	if err := l.addNodeNetwork(ctx, *added); err != nil {
		return Node{}, err
	}
	if err := l.writeNodeIdentity(*added); err != nil {
		return Node{}, err
	}
	if err := l.startNode(ctx, added, say); err != nil {
		return Node{}, err
	}
	if err := l.waitNodes(ctx, []Node{*added}, say); err != nil {
		return Node{}, err
	}
	if err := shapeNodes(ctx, client, []Node{*added}, say); err != nil {
		return Node{}, err
	}
	if err := l.waitKubeProxy(ctx, client, []Node{*added}, say); err != nil {
		return Node{}, err
	}
	ok = true
	// A copy: the lab's record of nodes changes as nodes come and go.
	return *added, nil
}

// nextWorker picks a new worker's name (one above the highest NAME-node-K), address and pod
// subnet (the lowest free ones), network namespace and link.
func (l *Lab) nextWorker() Node {
	k, hosts, subnets := 0, map[string]bool{}, map[string]bool{}
	for _, n := range l.Nodes {
		if i, err := strconv.Atoi(strings.TrimPrefix(n.Name, l.Name+"-node-")); err == nil && i > k {
			k = i
		}
		hosts[n.IP], subnets[n.PodSubnet] = true, true
	}
	hosts[l.LoadBalancerIP] = true
	k++
	n := Node{Name: fmt.Sprintf("%s-node-%d", l.Name, k), NetNS: fmt.Sprintf("cklab%d-n%d", l.Index, k),
		HostVeth: fmt.Sprintf("cklab%dv%d", l.Index, k)}
	for h := 2; h < 255; h++ {
		if ip := fmt.Sprintf("10.250.%d.%d", l.Index, h); !hosts[ip] {
			n.IP = ip
			break
		}
	}
	for j := 1; j < 256; j++ {
		if s := fmt.Sprintf("10.244.%d.0/24", j); !subnets[s] {
			n.PodSubnet = s
			break
		}
	}
	return n
}

// addNodeNetwork gives node n its namespace on the lab bridge, routes from it to every other
// node's pods and from every other node to its pods.
func (l *Lab) addNodeNetwork(ctx context.Context, n Node) error {
	if err := l.nodeNetwork(ctx, n); err != nil {
		return err
	}
	for _, o := range l.Nodes {
		if o.Name != n.Name {
			if err := ip(ctx, "-n", o.NetNS, "route", "replace", n.PodSubnet, "via", n.IP); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeNodeIdentity writes node n's kubelet kubeconfig (system:node:NAME, its client
// certificate issued by the lab's CA).
func (l *Lab) writeNodeIdentity(n Node) error {
	b, err := pki.Ensure(l.pkiDir(), pki.Options{ServiceCIDR: l.ServiceCIDR})
	if err != nil {
		return fmt.Errorf("the lab's PKI: %w", err)
	}
	certs, err := b.EnsureNode(pki.Node{Name: n.Name, IPs: []net.IP{net.ParseIP(n.IP)}})
	if err != nil {
		return fmt.Errorf("node %s's certificates: %w", n.Name, err)
	}
	return l.writeNodeKubeconfig(b, n, certs.Client)
}

// writeNodeKubeconfig writes the kubeconfig of node n's kubelet with its client certificate.
func (l *Lab) writeNodeKubeconfig(b *pki.Bundle, n Node, c pki.KeyPair) error {
	if err := os.MkdirAll(filepath.Dir(l.nodeKubeconfig(n.Name)), 0o755); err != nil {
		return err
	}
	cfg := apiserver.ClientKubeconfig(l.Server, b.CA.CertPEM, pki.NodeUserPrefix+n.Name, c.CertPEM, c.KeyPEM)
	return apiserver.WriteKubeconfigFile(l.nodeKubeconfig(n.Name), cfg)
}

// RemoveNode removes a worker node from a running lab, as an administrator retires a machine:
// it cordons and drains the Node (evicting its pods through the Eviction API, so
// PodDisruptionBudgets hold; DaemonSet and mirror pods stay), stops its container, deletes the
// Node object and removes its network, routes and data. A node that does not drain within the
// timeout of ctx is an error and stays.
func (l *Lab) RemoveNode(ctx context.Context, name string, say func(string, ...any)) error {
	if say == nil {
		say = func(string, ...any) {}
	}
	n, err := l.node(name)
	if err != nil {
		return err
	}
	if n.ControlPlane {
		return fmt.Errorf("%s is the lab's control-plane node: delete the lab instead (clusterkit lab delete --name %s)", name, l.Name)
	}
	client, err := l.adminClient()
	if err != nil {
		return err
	}
	if err := drain(ctx, client, name, say); err != nil {
		return fmt.Errorf("draining node %s: %w", name, err)
	}
	if err := l.removeNode(ctx, *n); err != nil {
		return err
	}
	if err := client.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting Node %s: %w", name, err)
	}
	say("node %s removed", name)
	return nil
}

// removeNode stops node n and removes its network, routes, data and record (its log stays).
func (l *Lab) removeNode(ctx context.Context, n Node) error {
	var errs []error
	if l.containers() {
		errs = append(errs, l.stopNodeContainer(ctx, n, 90*time.Second))
	} else if l.owns(n.PID) {
		errs = append(errs, l.stopOwned(ctx, n.PID, 90*time.Second))
	}
	for _, o := range l.Nodes {
		if o.Name != n.Name && o.NetNS != "" {
			_ = ip(ctx, "-n", o.NetNS, "route", "del", n.PodSubnet)
		}
	}
	if _, err := os.Stat(nsPath(n.NetNS)); err == nil && n.NetNS != "" {
		errs = append(errs, ip(ctx, "netns", "del", n.NetNS))
	}
	for _, p := range []string{filepath.Join(l.Dir, "data", n.Name), filepath.Join(l.Dir, "bundles", n.Name), containerdAddressFile(l.Dir, n.Name)} {
		errs = append(errs, os.RemoveAll(p))
	}
	l.Nodes = slices.DeleteFunc(l.Nodes, func(o Node) bool { return o.Name == n.Name })
	errs = append(errs, l.save())
	return errors.Join(errs...)
}

// drain cordons node name and evicts its pods but DaemonSet pods and mirror pods, as kubectl
// drain --ignore-daemonsets does, retrying evictions a PodDisruptionBudget refuses (429), and
// waits until the evicted pods are gone.
func drain(ctx context.Context, client kubernetes.Interface, name string, say func(string, ...any)) error {
	patch := []byte(`{"spec":{"unschedulable":true}}`)
	if _, err := client.CoreV1().Nodes().Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("cordoning: %w", err)
	}
	say("node %s cordoned", name)
	for {
		pods, err := client.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + name})
		if err != nil {
			return err
		}
		left := 0
		for _, p := range pods.Items {
			if _, mirror := p.Annotations[corev1.MirrorPodAnnotationKey]; mirror || ownedByDaemonSet(p) {
				continue
			}
			if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
				_ = client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{})
				continue
			}
			left++
			if p.DeletionTimestamp != nil {
				continue
			}
			err := client.CoreV1().Pods(p.Namespace).EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace}})
			switch {
			case err == nil:
				say("evicted pod %s/%s", p.Namespace, p.Name)
			case apierrors.IsNotFound(err):
			case apierrors.IsTooManyRequests(err):
				say("pod %s/%s not evicted yet: %v (retrying)", p.Namespace, p.Name, err)
			default:
				return fmt.Errorf("evicting pod %s/%s: %w", p.Namespace, p.Name, err)
			}
		}
		if left == 0 {
			say("node %s drained", name)
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d pods still on the node: %w", left, ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

func ownedByDaemonSet(p corev1.Pod) bool {
	for _, o := range p.OwnerReferences {
		if o.Kind == "DaemonSet" && o.Controller != nil && *o.Controller {
			return true
		}
	}
	return false
}
