package kindlab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	neturl "net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/clusterkit/clusterkit/cri/containerd"
	"github.com/clusterkit/clusterkit/cri/images"
)

// Defaults of a lab.
const (
	DefaultNodes       = 2
	DefaultServiceCIDR = "10.96.0.0/16"
	// PodRange holds every node's pod subnet (node i: 10.244.i.0/24).
	PodRange = "10.244.0.0/16"
	// apiPort is the API server's port on the lab bridge.
	apiPort = 6443
	// kubeletPort is each kubelet's logs/exec port on its node address.
	kubeletPort = 10250
)

// Config describes a lab to create.
type Config struct {
	// Name of the lab: a DNS label of at most 20 characters.
	Name string
	// Nodes is the number of worker nodes (default DefaultNodes, at most 50).
	Nodes int
	// Dir holds the lab's state, logs and data (default Root()/Name).
	Dir string
	// Binary is the clusterkit executable the lab's processes run (default: this process's
	// own executable). It is copied into Dir/bin, so the lab keeps running after `go run`
	// removes its temporary binary.
	Binary string
	// ServiceCIDR is where ClusterIPs come from (default DefaultServiceCIDR).
	ServiceCIDR string
	// ImageArchive is an OCI archive of the images every node imports; "" builds clusterkit's
	// test and pause images from the source tree (needs the go command and the module).
	ImageArchive string
	// Progress receives one line per step (default: discarded).
	Progress func(format string, args ...any)
	// Timeout bounds the whole creation (default 5 minutes).
	Timeout time.Duration
	// NodeCapacity is what every node's kubelet reports as capacity (entries not given are
	// measured); default DefaultNodeCapacity: nodes sharing one machine would otherwise each
	// report all of it.
	NodeCapacity corev1.ResourceList
	// Workers, when set, shapes each worker node (labels, taints, capacity): one entry per
	// node, Nodes defaults to their number. ControlPlane shapes the control-plane node. A lab
	// configuration file (ParseFile) fills both.
	Workers      []NodeConfig
	ControlPlane NodeConfig
	// ImagesFromBinary makes the pause, test and cluster DNS images from the clusterkit
	// executable (Binary, a multi-call binary): the default, unless ImagesFromSource.
	ImagesFromBinary bool
	// ImagesFromSource builds the pause, test and cluster DNS images from the source tree
	// (smaller images of their own) instead; without a source tree or a go command Create
	// makes them from the executable all the same.
	ImagesFromSource bool
	// NodeRuntime is how nodes are made: NodeContainers (the default) or NodeNamespaces.
	NodeRuntime string
	// ControlPlanes is the number of control-plane nodes (default 1); more make an HA control
	// plane: a stacked etcd member, an API server, a leader-elected scheduler and controller
	// manager on each, and the API address on a load balancer in front of them.
	ControlPlanes int
	// Scheduler and ControllerManager swap those components for the user's own, or none.
	Scheduler, ControllerManager Component
	// Retain keeps what a failed creation made, processes running, instead of removing it
	// (kind's --retain): for looking at the failure; Delete removes it.
	Retain bool
}

// DefaultNodeCapacity is a lab node's capacity unless Config.NodeCapacity says otherwise.
func DefaultNodeCapacity() corev1.ResourceList {
	return corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("4Gi")}
}

// Node is one node of a lab.
type Node struct {
	Name string `json:"name"`
	// NetNS is the node's network namespace name (under /run/netns).
	NetNS string `json:"netns"`
	// IP is the node's address on the lab bridge.
	IP string `json:"ip"`
	// PodSubnet is the node's pod subnet.
	PodSubnet string `json:"podSubnet"`
	// HostVeth is the node's link on the lab bridge.
	HostVeth string `json:"hostVeth"`
	// PID is the node agent's process ID; of a node container, its first process (init).
	PID int `json:"pid"`
	// ControlPlane marks the control-plane node (NAME-control-plane): labelled and tainted
	// node-role.kubernetes.io/control-plane, it runs the scheduler and the controller manager
	// as static pods.
	ControlPlane bool `json:"controlPlane,omitempty"`
	// Labels and Taints are put on the Node once it registers; Capacity entries replace the
	// lab's NodeCapacity for this node (a lab configuration file's node shape).
	Labels   map[string]string   `json:"labels,omitempty"`
	Taints   []corev1.Taint      `json:"taints,omitempty"`
	Capacity corev1.ResourceList `json:"capacity,omitempty"`
}

// Lab is a created lab, as recorded in Dir/lab.json.
type Lab struct {
	Name        string    `json:"name"`
	Dir         string    `json:"dir"`
	Index       int       `json:"index"`
	Bridge      string    `json:"bridge"`
	Subnet      string    `json:"subnet"`
	ServiceCIDR string    `json:"serviceCIDR"`
	Server      string    `json:"server"`
	Kubeconfig  string    `json:"kubeconfig"`
	ControlPID  int       `json:"controlPlanePID"`
	Nodes       []Node    `json:"nodes"`
	Created     time.Time `json:"created"`
	// Scheduler and ControllerManager are Config's: the components swapped.
	Scheduler         Component `json:"scheduler,omitzero"`
	ControllerManager Component `json:"controllerManager,omitzero"`
	// LoadBalancerIP and LoadBalancerPID are the API address and the process of an HA lab's
	// load balancer (on the lab bridge, in front of the control-plane nodes' API servers).
	LoadBalancerIP  string `json:"loadBalancerIP,omitempty"`
	LoadBalancerPID int    `json:"loadBalancerPID,omitempty"`
	// Stopped marks a lab stopped by Stop (Start starts it again).
	Stopped bool `json:"stopped,omitempty"`
	// Images is the image archive every node imports when it starts.
	Images string `json:"images,omitempty"`
	// NodeRuntime is how the lab's nodes are made (NodeContainers, NodeNamespaces); empty in
	// labs made before node containers, whose nodes are namespaces.
	NodeRuntime string `json:"nodeRuntime,omitempty"`
	// NodeCapacity is Config.NodeCapacity, for the node agents.
	NodeCapacity corev1.ResourceList `json:"nodeCapacity,omitempty"`
}

// Root is where labs live by default: ~/.clusterkit/labs.
func Root() string {
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		home = os.TempDir()
	}
	return filepath.Join(home, ".clusterkit", "labs")
}

// StartCommand is the command that starts the stopped lab name in dir.
func StartCommand(name, dir string) string {
	return strings.Replace(DeleteCommand(name, dir), "lab delete", "lab start", 1)
}

// DeleteCommand is the command that deletes the lab name kept in dir: with --dir unless dir
// is the lab's default directory.
func DeleteCommand(name, dir string) string {
	if dir == "" || filepath.Clean(dir) == filepath.Join(Root(), name) {
		return "clusterkit lab delete --name " + name
	}
	return "clusterkit lab delete --dir " + dir
}

// Unavailable says why labs cannot be created on this machine, or "".
func Unavailable() string {
	if os.Geteuid() != 0 {
		return "labs need root (network namespaces, bridges, containerd)"
	}
	if err := containerd.Available(); err != nil {
		return "real containers unavailable: " + err.Error()
	}
	for _, b := range []string{"ip", "nsenter"} {
		if _, err := lookPath(b); err != nil {
			return fmt.Sprintf("%s is not on PATH (scripts/install-containerd.sh installs iproute2; nsenter is in util-linux)", b)
		}
	}
	return ""
}

var nameRE = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,18}[a-z0-9])?$`)

func (c Config) withDefaults() (Config, error) {
	if !nameRE.MatchString(c.Name) {
		return c, fmt.Errorf("lab name %q: want a DNS label (lowercase letters, digits, '-') of 1 to 20 characters", c.Name)
	}
	if c.Nodes == 0 {
		c.Nodes = DefaultNodes
		if len(c.Workers) > 0 {
			c.Nodes = len(c.Workers)
		}
	}
	if len(c.Workers) > 0 && len(c.Workers) != c.Nodes {
		return c, fmt.Errorf("--nodes %d, but the configuration shapes %d workers: give one or the other", c.Nodes, len(c.Workers))
	}
	if c.Nodes < 1 || c.Nodes > 50 {
		return c, fmt.Errorf("--nodes %d: a lab has 1 to 50 nodes", c.Nodes)
	}
	if c.Dir == "" {
		c.Dir = filepath.Join(Root(), c.Name)
	}
	if c.ServiceCIDR == "" {
		c.ServiceCIDR = DefaultServiceCIDR
	}
	if p, err := netip.ParsePrefix(c.ServiceCIDR); err != nil || !p.Addr().Is4() {
		return c, fmt.Errorf("service CIDR %q: want an IPv4 prefix", c.ServiceCIDR)
	}
	if c.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return c, fmt.Errorf("finding the clusterkit executable: %w", err)
		}
		c.Binary = exe
	}
	if c.ImageArchive != "" {
		if _, err := os.Stat(c.ImageArchive); err != nil {
			return c, fmt.Errorf("image archive: %w (clusterkit images build --output FILE writes one)", err)
		}
	}
	if c.Progress == nil {
		c.Progress = func(string, ...any) {}
	}
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Minute
	}
	if c.NodeCapacity == nil {
		c.NodeCapacity = DefaultNodeCapacity()
	}
	if c.ControlPlanes == 0 {
		c.ControlPlanes = 1
	}
	if c.ControlPlanes < 1 || c.ControlPlanes > 5 {
		return c, fmt.Errorf("%d control-plane nodes: a lab has 1 to 5 (3 for an HA control plane that survives the loss of one)", c.ControlPlanes)
	}
	if c.ControlPlanes > 1 && c.NodeRuntime == NodeNamespaces {
		return c, fmt.Errorf("an HA control plane needs node containers, not --node-runtime %s", NodeNamespaces)
	}
	switch c.NodeRuntime {
	case "":
		c.NodeRuntime = NodeContainers
	case NodeContainers, NodeNamespaces:
	default:
		return c, fmt.Errorf("node runtime %q: want %q (every node a container) or %q (every node a network namespace of the machine)", c.NodeRuntime, NodeContainers, NodeNamespaces)
	}
	return c, nil
}

// Create builds the lab step by step (printing a progress line per step) and returns when
// every node is Ready. On failure it removes what it made and names the log to read.
func Create(ctx context.Context, cfg Config) (*Lab, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if why := Unavailable(); why != "" {
		return nil, errors.New(why)
	}
	if _, err := os.Stat(filepath.Join(cfg.Dir, "lab.json")); err == nil {
		return nil, fmt.Errorf("lab %q already exists (%s): delete it first with `%s`", cfg.Name, cfg.Dir, DeleteCommand(cfg.Name, cfg.Dir))
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	start := time.Now()
	say := func(format string, args ...any) {
		cfg.Progress("[%5.1fs] %s", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	for _, d := range []string{"bin", "logs", "data"} {
		if err := os.MkdirAll(filepath.Join(cfg.Dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	idx, err := reserveIndex(ctx)
	if err != nil {
		return nil, err
	}
	lab := &Lab{
		Name: cfg.Name, Dir: cfg.Dir, Index: idx, Bridge: fmt.Sprintf("cklab%d", idx),
		Subnet: fmt.Sprintf("10.250.%d.0/24", idx), ServiceCIDR: cfg.ServiceCIDR,
		Kubeconfig: filepath.Join(cfg.Dir, "kubeconfig"), Created: time.Now().UTC(),
		NodeCapacity: cfg.NodeCapacity, NodeRuntime: cfg.NodeRuntime,
		Scheduler: cfg.Scheduler, ControllerManager: cfg.ControllerManager,
	}
	gateway := fmt.Sprintf("10.250.%d.1", idx)
	// The API server is a static pod of the control-plane node, on that node's address.
	cpIP := fmt.Sprintf("10.250.%d.%d", idx, cfg.Nodes+2)
	lab.Server = fmt.Sprintf("https://%s:%d", cpIP, apiPort)
	for i := 1; i <= cfg.Nodes; i++ {
		lab.Nodes = append(lab.Nodes, Node{
			Name: fmt.Sprintf("%s-node-%d", cfg.Name, i), NetNS: fmt.Sprintf("cklab%d-n%d", idx, i),
			IP: fmt.Sprintf("10.250.%d.%d", idx, i+1), PodSubnet: fmt.Sprintf("10.244.%d.0/24", i),
			HostVeth: fmt.Sprintf("cklab%dv%d", idx, i),
		})
		if len(cfg.Workers) >= i {
			w := cfg.Workers[i-1]
			n := &lab.Nodes[len(lab.Nodes)-1]
			n.Labels, n.Taints, n.Capacity = w.Labels, w.Taints, w.Capacity
		}
	}
	lab.Nodes = append(lab.Nodes, Node{
		Name: cfg.Name + "-control-plane", NetNS: fmt.Sprintf("cklab%d-cp", idx),
		IP: cpIP, PodSubnet: controlPlaneSubnet,
		HostVeth: fmt.Sprintf("cklab%dvcp", idx), ControlPlane: true,
		Labels: cfg.ControlPlane.Labels, Taints: cfg.ControlPlane.Taints, Capacity: cfg.ControlPlane.Capacity,
	})
	// An HA control plane: more control-plane nodes (kind's NAME-control-plane2, 3 …), and the
	// API address on the lab's load balancer in front of their API servers.
	for j := 2; j <= cfg.ControlPlanes; j++ {
		lab.Nodes = append(lab.Nodes, Node{
			Name: fmt.Sprintf("%s-control-plane%d", cfg.Name, j), NetNS: fmt.Sprintf("cklab%d-cp%d", idx, j),
			IP: fmt.Sprintf("10.250.%d.%d", idx, cfg.Nodes+j+1), PodSubnet: fmt.Sprintf("10.244.%d.0/24", 200+j),
			HostVeth: fmt.Sprintf("cklab%dvcp%d", idx, j), ControlPlane: true,
			Labels: cfg.ControlPlane.Labels, Taints: cfg.ControlPlane.Taints, Capacity: cfg.ControlPlane.Capacity,
		})
	}
	if cfg.ControlPlanes > 1 {
		lab.LoadBalancerIP = fmt.Sprintf("10.250.%d.%d", idx, cfg.Nodes+cfg.ControlPlanes+2)
		lab.Server = fmt.Sprintf("https://%s:%d", lab.LoadBalancerIP, apiPort)
	}
	ok := false
	defer func() {
		if !ok && cfg.Retain {
			say("creation failed: the lab is kept as it is (--retain), its processes running, to be looked at (`clusterkit lab export logs`); `%s` removes it", DeleteCommand(cfg.Name, cfg.Dir))
			return
		}
		if !ok {
			say("creation failed: removing what was made (logs kept in %s; `%s` removes them)", filepath.Join(cfg.Dir, "logs"), DeleteCommand(cfg.Name, cfg.Dir))
			_ = lab.teardown(context.Background(), io.Discard, true)
		}
	}()
	if err := lab.save(); err != nil {
		return nil, err
	}

	bin := filepath.Join(cfg.Dir, "bin", "clusterkit")
	if err := copyFile(cfg.Binary, bin, 0o755); err != nil {
		return nil, fmt.Errorf("copying the clusterkit executable: %w", err)
	}
	archive, podImages := cfg.ImageArchive, ""
	switch {
	case archive != "":
		// Into the lab's directory, which node containers see (the file itself may be anywhere).
		archive = filepath.Join(cfg.Dir, "images.tar")
		if err := placeFile(archive, cfg.ImageArchive); err != nil {
			return nil, fmt.Errorf("the image archive: %w", err)
		}
	case !cfg.ImagesFromSource:
		// The executable is also the images' program (package multicall): the pods' images
		// share the control plane's one layer, which every node imports anyway.
		archive = filepath.Join(cfg.Dir, "images.tar")
		podImages = archive
	default:
		say("building the test, pause and cluster DNS images")
		archive = filepath.Join(cfg.Dir, "images.tar")
		imgs, err := images.BuildFromSource(ctx, true)
		if err == nil {
			err = writeArchive(archive, imgs)
		}
		if err != nil {
			// Outside the source tree, or without the go command: the executable is also
			// the images' program (package multicall).
			first, _, _ := strings.Cut(err.Error(), "\n")
			say("cannot build them from source (%s): making them from the clusterkit executable", first)
			podImages = archive
		}
	}

	if podImages != "" {
		say("composing the control plane's image %s and the pause, test and cluster DNS images from %s", ControlPlaneImage, bin)
	} else {
		say("composing the control plane's image %s from %s", ControlPlaneImage, bin)
	}
	if err := composeImagesCached(ctx, bin, lab.controlPlaneArchive(), podImages); err != nil {
		return nil, err
	}
	if err := lab.composeComponents(ctx, say); err != nil {
		return nil, err
	}

	say("creating bridge %s (%s) and %d node namespaces", lab.Bridge, lab.Subnet, len(lab.Nodes))
	if err := lab.createNetwork(ctx, gateway); err != nil {
		return nil, err
	}

	if err := lab.writeIdentities(cpIP); err != nil {
		return nil, err
	}
	if lab.LoadBalancerIP != "" {
		if err := lab.startLoadBalancer(ctx, say); err != nil {
			return nil, err
		}
	}

	if lab.containers() {
		say("making the node image (clusterkit, containerd, runc, CNI plugins) in %s", lab.nodeImageDir())
		if err := lab.buildNodeImage(ctx, bin); err != nil {
			return nil, err
		}
	}
	lab.Images = archive
	if err := lab.startNodes(ctx, say); err != nil {
		return nil, err
	}
	client, err := lab.adminClient()
	if err != nil {
		return nil, err
	}

	// kube-proxy at once: its DaemonSet's pods start on each node as it registers.
	if err := lab.installKubeProxy(ctx, client); err != nil {
		return nil, err
	}
	say("kube-proxy DaemonSet installed in kube-system")
	cps := lab.ControlPlaneNodes()
	if err := lab.waitNodes(ctx, cps, say); err != nil {
		return nil, err
	}
	for _, n := range cps {
		if err := MarkControlPlane(ctx, client, n.Name); err != nil {
			return nil, fmt.Errorf("labelling and tainting %s: %w", n.Name, err)
		}
		say("node %s labelled and tainted %s:NoSchedule", n.Name, LabelControlPlane)
	}
	if err := shapeNodes(ctx, client, cps, say); err != nil {
		return nil, err
	}
	placed := lab.Scheduler.Replace != ReplaceNone && lab.ControllerManager.Replace != ReplaceNone
	if !placed {
		say("no scheduler or no controller manager runs (replace: none): kube-proxy and cluster DNS pods wait for yours; not waiting for them")
	}
	if placed {
		if err := lab.waitKubeProxy(ctx, client, cps, say); err != nil {
			return nil, err
		}
	}
	if err := lab.waitNodes(ctx, lab.Workers(), say); err != nil {
		return nil, err
	}
	if err := shapeNodes(ctx, client, lab.Workers(), say); err != nil {
		return nil, err
	}
	if placed {
		if err := lab.waitKubeProxy(ctx, client, lab.Workers(), say); err != nil {
			return nil, err
		}
	}
	if err := lab.installDNS(ctx, client, say); err != nil {
		return nil, err
	}
	// Last, as their mirror pods' status comes after the API answers: every static pod of the
	// control plane Running.
	for _, n := range cps {
		if err := lab.waitControlPlanePods(ctx, client, n.Name, say); err != nil {
			return nil, err
		}
	}
	ok = true
	if len(cps) > 1 {
		say("lab %s ready: %d control-plane nodes behind %s and %d workers; kubeconfig %s", lab.Name, len(cps), lab.Server, len(lab.Workers()), lab.Kubeconfig)
	} else {
		say("lab %s ready: a control-plane node and %d workers; kubeconfig %s", lab.Name, len(lab.Workers()), lab.Kubeconfig)
	}
	return lab, nil
}

// startNodes starts every node — the first control-plane node first: its kubelet starts etcd,
// the API server, the scheduler and the controller manager from their manifests (static pods
// need no API); the others at once, their kubelets registering as soon as the API server
// answers (as kubeadm join's kubelets retry) — and waits until the API server is ready.
func (l *Lab) startNodes(ctx context.Context, say func(string, ...any)) error {
	cp := l.ControlPlaneNode()
	if err := l.startNode(ctx, cp, say); err != nil {
		return err
	}
	for i := range l.Nodes {
		if &l.Nodes[i] != cp {
			if err := l.startNode(ctx, &l.Nodes[i], say); err != nil {
				return err
			}
		}
	}
	if err := waitReadyz(ctx, l.Server+"/readyz", l.Kubeconfig, cp.PID); err != nil {
		return fmt.Errorf("the API server did not become ready: %w (see %s)", err, filepath.Join(l.Dir, "logs", cp.Name+".log"))
	}
	say("API server ready on %s", l.Server)
	return nil
}

// startNode starts node n — its container, or its agent in its network namespace — and
// records its PID.
func (l *Lab) startNode(ctx context.Context, n *Node, say func(string, ...any)) error {
	logPath, args := filepath.Join(l.Dir, "logs", n.Name+".log"), []string{"lab", "node-agent", "--dir", l.Dir, "--node", n.Name, "--images", l.Images}
	var pid int
	var err error
	if l.containers() {
		say("starting node container %s (%s, pods %s)", n.Name, n.IP, n.PodSubnet)
		pid, err = l.startNodeContainer(ctx, *n, logPath, append([]string{nodeProgram}, args...))
	} else {
		say("starting node %s (%s, pods %s)", n.Name, n.IP, n.PodSubnet)
		pid, err = spawn(logPath, nsPath(n.NetNS), filepath.Join(l.Dir, "bin", "clusterkit"), args...)
	}
	if err != nil {
		return err
	}
	n.PID = pid
	return l.save()
}

// waitNodes waits until nodes are Ready, failing early when a node agent exits.
func (l *Lab) waitNodes(ctx context.Context, nodes []Node, say func(string, ...any)) error {
	client, err := l.adminClient()
	if err != nil {
		return err
	}
	ready := map[string]bool{}
	for len(ready) < len(nodes) {
		for _, n := range nodes {
			if ready[n.Name] {
				continue
			}
			if !l.owns(n.PID) {
				return fmt.Errorf("node %s stopped (see %s)", n.Name, filepath.Join(l.Dir, "logs", n.Name+".log"))
			}
			node, err := client.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				continue
			}
			if err == nil && nodeReady(node) {
				ready[n.Name] = true
				say("node %s Ready", n.Name)
			}
		}
		if len(ready) == len(nodes) {
			break
		}
		select {
		case <-ctx.Done():
			var missing []string
			for _, n := range nodes {
				if !ready[n.Name] {
					missing = append(missing, n.Name+" (see "+filepath.Join(l.Dir, "logs", n.Name+".log")+")")
				}
			}
			return fmt.Errorf("nodes not Ready in time: %v", missing)
		case <-time.After(250 * time.Millisecond):
		}
	}
	return nil
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Load reads the lab recorded in dir.
func Load(dir string) (*Lab, error) {
	b, err := os.ReadFile(filepath.Join(dir, "lab.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, apierrors.NewNotFound(schema.GroupResource{Group: "clusterkit.io", Resource: "labs"}, filepath.Base(dir))
	}
	if err != nil {
		return nil, err
	}
	var l Lab
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("reading %s: %w", filepath.Join(dir, "lab.json"), err)
	}
	return &l, nil
}

// leftoverEntries are what a failed create leaves in a lab's directory (its logs are kept
// for the user to read); a directory holding anything else is not a lab's leftover.
var leftoverEntries = map[string]bool{"logs": true, "bin": true, "data": true, "images.tar": true, "kubeconfig": true, "lab.json.tmp": true,
	"node-image": true, "bundles": true, "runc": true}

// IsLeftover reports whether dir is what a failed create left (no lab.json, nothing but a
// lab's own entries, the logs among them).
func IsLeftover(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		return false
	}
	for _, e := range entries {
		if !leftoverEntries[e.Name()] {
			return false
		}
	}
	return true
}

// RemoveLeftover removes the directory a failed create left; it refuses any other directory.
func RemoveLeftover(dir string) error {
	if !IsLeftover(dir) {
		return fmt.Errorf("%s is not what a failed lab create leaves (it holds more than logs, bin, data): not removing it", dir)
	}
	return os.RemoveAll(dir)
}

// Leftovers returns the directories under root that failed creates left, by name.
func Leftovers(root string) ([]string, error) {
	entries, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		dir := filepath.Join(root, e.Name())
		if e.IsDir() && IsLeftover(dir) {
			out = append(out, dir)
		}
	}
	return out, nil
}

// List returns the labs under root, by name.
func List(root string) ([]*Lab, error) {
	entries, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*Lab
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if l, err := Load(filepath.Join(root, e.Name())); err == nil {
			out = append(out, l)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Running reports whether every process of the lab is alive.
func (l *Lab) Running() bool {
	if l.ControlPID > 0 && !l.owns(l.ControlPID) { // labs made before the API server was a static pod
		return false
	}
	for _, n := range l.Nodes {
		if !l.owns(n.PID) {
			return false
		}
	}
	return true
}

// Delete stops the lab's processes (node agents first, each removing its pods and rules, then
// the control plane), removes its namespaces, links and directory. log receives a line per step.
func (l *Lab) Delete(ctx context.Context, log io.Writer) error {
	return l.teardown(ctx, log, false)
}

func (l *Lab) teardown(ctx context.Context, log io.Writer, keepLogs bool) error {
	var errs []error
	for _, n := range l.Nodes {
		switch {
		case l.containers() && n.NetNS != "":
			fmt.Fprintf(log, "stopping node container %s (pid %d)\n", l.containerID(n), n.PID)
			errs = append(errs, l.stopNodeContainer(ctx, n, 90*time.Second))
		case l.owns(n.PID):
			fmt.Fprintf(log, "stopping node %s (pid %d)\n", n.Name, n.PID)
			errs = append(errs, l.stopOwned(ctx, n.PID, 90*time.Second))
		}
	}
	if l.containers() {
		l.removeCgroupParent()
	}
	if l.owns(l.LoadBalancerPID) {
		fmt.Fprintf(log, "stopping the load balancer (pid %d)\n", l.LoadBalancerPID)
		errs = append(errs, l.stopOwned(ctx, l.LoadBalancerPID, 10*time.Second))
	}
	if l.owns(l.ControlPID) {
		fmt.Fprintf(log, "stopping the control plane (pid %d)\n", l.ControlPID)
		errs = append(errs, l.stopOwned(ctx, l.ControlPID, 30*time.Second))
	}
	// A node agent killed before it removed its pods leaves their shims and processes running.
	if n, err := killShims(l.Dir); n > 0 || err != nil {
		fmt.Fprintf(log, "killed %d containerd shims left running with their pods\n", n)
		errs = append(errs, err)
	}
	fmt.Fprintf(log, "removing bridge %s and the node namespaces\n", l.Bridge)
	errs = append(errs, l.removeNetwork(ctx))
	if keepLogs {
		for _, d := range []string{"bin", "data", "images.tar", "lab.json", "kubeconfig", "node-image", "bundles", "runc"} {
			_ = os.RemoveAll(filepath.Join(l.Dir, d))
		}
	} else {
		errs = append(errs, os.RemoveAll(l.Dir))
	}
	return errors.Join(errs...)
}

func (l *Lab) save() error {
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(l.Dir, "lab.json.tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(l.Dir, "lab.json"))
}

// node returns the named node.
func (l *Lab) node(name string) (*Node, error) {
	for i := range l.Nodes {
		if l.Nodes[i].Name == name {
			return &l.Nodes[i], nil
		}
	}
	return nil, fmt.Errorf("lab %s has no node %q", l.Name, name)
}

// waitReadyz waits until the API server answers url with 200, reached through the kubeconfig
// `up` writes (its CA and admin certificate) once that exists.
func waitReadyz(ctx context.Context, url, kubeconfig string, pid int) error {
	for {
		resp, err := getWithKubeconfig(url, kubeconfig)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if !alive(pid) {
			return errors.New("the control-plane process exited")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// getWithKubeconfig GETs url with the TLS settings and credentials of kubeconfig, bypassing
// any HTTP proxy.
func getWithKubeconfig(url, kubeconfig string) (*http.Response, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.Proxy = func(*http.Request) (*neturl.URL, error) { return nil, nil }
	cfg.Timeout = 2 * time.Second
	c, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	defer c.CloseIdleConnections()
	return c.Get(url)
}

// copyFile copies the regular file from (what is there now, for a log being written) to to with
// mode, creating the directories to it.
func copyFile(from, to string, mode os.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return fmt.Errorf("copying %s: %w", from, err)
	}
	return out.Close()
}
