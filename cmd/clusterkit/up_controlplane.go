package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/clusterkit/clusterkit/cri/simruntime"
	"github.com/clusterkit/clusterkit/kindlab"
	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/kubelet"
	"github.com/clusterkit/clusterkit/reference/kubelet/localnode"
	"github.com/clusterkit/clusterkit/version"
)

// up's control-plane node. As on a kubeadm cluster, up's control plane runs as static pods of a
// node of its own, NAME-control-plane, labelled and tainted node-role.kubernetes.io/control-plane
// so that user workloads stay off it. up is one process, so that node's kubelet (the reference
// kubelet, registered like any node) runs on the simulated runtime whose "processes" for the
// control plane's images are up's own components (simruntime.Program): the kubelet starting the
// kube-scheduler static pod is what starts up's scheduler, a scheduler that fails is a container
// that exits and that the kubelet restarts with back-off, counting restarts, and what a component
// logs is its container's log (kubectl logs -n kube-system). etcd and the API server serve before
// any kubelet can run (the kubelet needs the API): their containers stand for the running server
// and end — the pod no longer Running — when it stops.

const (
	// upControlPlaneSubnet is the simulated pod subnet of the control-plane node (its pods use
	// the host network; workers use the first NodeSubnets).
	upControlPlaneSubnet = 1023
)

// upControlPlaneNodeName is the name of up's control-plane node, as kind names one: the
// cluster's name (its kubeconfig context) and -control-plane.
func upControlPlaneNodeName() string { return apiserver.KubeconfigContext + "-control-plane" }

// upComponent is one control-plane component up runs in its process.
type upComponent struct {
	// name is the component's (and its static pod's) name: etcd, kube-apiserver,
	// kube-scheduler, kube-controller-manager.
	name string
	// cpu and memory are its requests, as kubeadm's manifests give them.
	cpu, memory string
	// run runs the component until ctx ends (nil then) or it fails; it logs to log.
	run func(ctx context.Context, log io.Writer) error
}

// image is the image reference of c's static pod: up's own, which no registry has.
func (c upComponent) image() string {
	return "clusterkit.local/up/" + c.name + ":" + version.Get().GitVersion
}

// staticPod is c's static pod manifest, kubeadm's shape: on the host network,
// system-node-critical, no ServiceAccount token.
func (c upComponent) staticPod() *corev1.Pod {
	req := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(c.cpu)}
	if c.memory != "" {
		req[corev1.ResourceMemory] = resource.MustParse(c.memory)
	}
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: c.name, Namespace: metav1.NamespaceSystem,
			Labels: map[string]string{"component": c.name, "tier": "control-plane"}},
		Spec: corev1.PodSpec{
			HostNetwork: true, PriorityClassName: "system-node-critical",
			AutomountServiceAccountToken: ptr.To(false),
			Containers: []corev1.Container{{
				Name: c.name, Image: c.image(), ImagePullPolicy: corev1.PullNever,
				Resources: corev1.ResourceRequirements{Requests: req},
			}},
		},
	}
}

// serverComponent is a component that serves before the kubelet runs (etcd, the API server):
// its container runs while done is open and fails once it closes.
func serverComponent(name, cpu, memory, banner string, done <-chan struct{}) upComponent {
	return upComponent{name: name, cpu: cpu, memory: memory, run: func(ctx context.Context, log io.Writer) error {
		fmt.Fprintln(log, banner)
		select {
		case <-ctx.Done():
			return nil
		case <-done:
			return fmt.Errorf("%s stopped", name)
		}
	}}
}

// logfTo is a printf-style logger writing lines to w.
func logfTo(w io.Writer) func(string, ...any) {
	return func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
}

// upControlPlaneNode is the running control-plane node.
type upControlPlaneNode struct {
	node     *localnode.Node
	programs sync.WaitGroup
}

// stop stops the node's kubelet and runtime (ending every component it runs) and waits for the
// components to return.
func (n *upControlPlaneNode) stop(say func(string, ...any)) {
	n.node.Close()
	done := make(chan struct{})
	go func() { n.programs.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		say("the control plane's components did not stop within 10s")
	}
}

// startUpControlPlaneNode writes the components' static pods into DATA-DIR/control-plane/
// manifests, starts the control-plane node's kubelet on them, marks the node as kubeadm does
// and waits until the components' mirror pods are Running.
func startUpControlPlaneNode(ctx context.Context, o *upOptions, acc upAccess, components []upComponent, say func(string, ...any)) (*upControlPlaneNode, error) {
	name := upControlPlaneNodeName()
	dir := filepath.Join(o.dataDir, "control-plane", "manifests")
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	cp := &upControlPlaneNode{}
	programs := map[string]simruntime.Program{}
	for _, c := range components {
		data, err := yaml.Marshal(c.staticPod())
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, c.name+".yaml"), data, 0o600); err != nil {
			return nil, err
		}
		run := c.run
		programs[c.image()] = func(ctx context.Context, _ []string, stdout, _ io.Writer) error {
			cp.programs.Add(1)
			defer cp.programs.Done()
			return run(ctx, stdout)
		}
	}
	var kcfg kubelet.Config
	if err := o.nodeShape.apply(&kcfg); err != nil {
		return nil, err
	}
	kc, err := upKubeletConfig(kcfg, acc, name)
	if err != nil {
		return nil, err
	}
	kc.StaticPodPath = dir
	sim := simruntime.Options{PodSubnet: simruntime.NodeSubnet(upControlPlaneSubnet), Programs: programs}
	if ip := net.ParseIP(o.address); ip != nil && !ip.IsUnspecified() {
		kc.NodeIP, sim.HostIP = ip.String(), ip.String()
		kc.ServerAddress = net.JoinHostPort(ip.String(), "0")
	}
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	n, err := localnode.Start(sctx, acc.rest(acc.pki.Nodes[name].Client), localnode.Config{
		Name: name, Dir: filepath.Join(o.dataDir, "nodes", name), Runtime: localnode.Simulated,
		Sim: sim, Kubelet: kc,
	})
	if err != nil {
		return nil, fmt.Errorf("the control-plane node %s: %w", name, err)
	}
	cp.node = n
	admin, err := kubernetes.NewForConfig(acc.rest(acc.pki.Admin))
	if err == nil {
		err = kindlab.MarkControlPlane(sctx, admin, name)
	}
	if err == nil {
		err = waitMirrorPods(sctx, admin, name, components, say)
	}
	if err != nil {
		cp.stop(say)
		return nil, fmt.Errorf("the control-plane node %s: %w", name, err)
	}
	return cp, nil
}

// waitMirrorPods waits until the mirror pods of the components' static pods are Running.
func waitMirrorPods(ctx context.Context, client kubernetes.Interface, node string, components []upComponent, say func(string, ...any)) error {
	for _, c := range components {
		name := c.name + "-" + node
		var last string
		for {
			p, err := client.CoreV1().Pods(metav1.NamespaceSystem).Get(ctx, name, metav1.GetOptions{})
			if err == nil && p.Status.Phase == corev1.PodRunning {
				say("static pod %s/%s Running", p.Namespace, p.Name)
				break
			}
			if err != nil {
				last = err.Error()
			} else {
				last = "phase " + string(p.Status.Phase)
			}
			select {
			case <-ctx.Done():
				return errors.Join(fmt.Errorf("mirror pod %s not Running (%s)", name, last), ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}
