package kindlab

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/clusterkit/clusterkit/cri/images"
	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/pki"
)

// The control-plane node, as kubeadm makes one.
const (
	// LabelControlPlane marks the control-plane node (kubeadm's label and taint key).
	LabelControlPlane = "node-role.kubernetes.io/control-plane"
	// labelExcludeLB is the other label kubeadm puts on control-plane nodes.
	labelExcludeLB = "node.kubernetes.io/exclude-from-external-load-balancers"
	// ControlPlaneImage holds the clusterkit executable the control plane's static pods run.
	ControlPlaneImage = "clusterkit.local/clusterkit:v1"
	// controlPlaneSubnet is the control-plane node's pod subnet (workers have 10.244.i.0/24, i ≥ 1).
	controlPlaneSubnet = "10.244.0.0/24"
	// binaryInImage is where ControlPlaneImage has the executable.
	binaryInImage = images.ExecutableInImage
)

// ControlPlaneTaint keeps user workloads off the control-plane node.
var controlPlaneTaint = corev1.Taint{Key: LabelControlPlane, Effect: corev1.TaintEffectNoSchedule}

// ControlPlaneNode returns the lab's control-plane node, or nil for a lab made before labs had one.
func (l *Lab) ControlPlaneNode() *Node {
	for i := range l.Nodes {
		if l.Nodes[i].ControlPlane {
			return &l.Nodes[i]
		}
	}
	return nil
}

// ControlPlaneNodes returns the lab's control-plane nodes (more than one: an HA control plane).
func (l *Lab) ControlPlaneNodes() []Node {
	var out []Node
	for _, n := range l.Nodes {
		if n.ControlPlane {
			out = append(out, n)
		}
	}
	return out
}

// highlyAvailable reports whether the lab has several control-plane nodes.
func (l *Lab) highlyAvailable() bool { return len(l.ControlPlaneNodes()) > 1 }

// Workers returns the lab's worker nodes.
func (l *Lab) Workers() []Node {
	var out []Node
	for _, n := range l.Nodes {
		if !n.ControlPlane {
			out = append(out, n)
		}
	}
	return out
}

// controlPlaneDir holds the control plane components' kubeconfigs (kubeadm's /etc/kubernetes).
func (l *Lab) controlPlaneDir() string { return filepath.Join(l.Dir, "data", "control-plane") }

// staticPodDir is a control-plane node's static pod directory (kubeadm's
// /etc/kubernetes/manifests): the first control-plane node's directly under controlPlaneDir, the
// others' in a directory of their own.
func (l *Lab) staticPodDir(node string) string {
	if node == l.Name+"-control-plane" {
		return filepath.Join(l.controlPlaneDir(), "manifests")
	}
	return filepath.Join(l.controlPlaneDir(), node, "manifests")
}

// controlPlaneArchive is the archive of ControlPlaneImage, which every node imports (the
// control plane's static pods and kube-proxy run it).
func (l *Lab) controlPlaneArchive() string {
	return filepath.Join(l.Dir, "data", "control-plane-images.tar")
}

// writeControlPlane writes the static pod manifests of etcd, the API server, the scheduler and
// the controller manager, which the control-plane node's kubelet runs as containers of
// ControlPlaneImage, and the scheduler's and the controller manager's kubeconfigs (each with its
// own identity, system:kube-scheduler and system:kube-controller-manager) — kubeadm's layout.
func (l *Lab) writeControlPlane(b *pki.Bundle) error {
	confs := map[string]string{}
	for name, kp := range map[string]struct {
		user string
		pair pki.KeyPair
	}{
		"scheduler.conf":          {pki.SchedulerUser, b.Scheduler},
		"controller-manager.conf": {pki.ControllerManagerUser, b.ControllerManager},
	} {
		path := filepath.Join(l.controlPlaneDir(), name)
		cfg := apiserver.ClientKubeconfig(l.Server, b.CA.CertPEM, kp.user, kp.pair.CertPEM, kp.pair.KeyPEM)
		if err := apiserver.WriteKubeconfigFile(path, cfg); err != nil {
			return err
		}
		confs[name] = path
	}
	etcd, err := pki.EnsureEtcd(l.pkiDir(), pki.Options{})
	if err != nil {
		return fmt.Errorf("etcd's PKI: %w", err)
	}
	u, err := url.Parse(l.Server)
	if err != nil {
		return err
	}
	cps := l.ControlPlaneNodes()
	ha := len(cps) > 1
	var initial []string
	for _, n := range cps {
		initial = append(initial, n.Name+"=https://"+n.IP+":2380")
	}
	for _, n := range cps {
		if err := os.MkdirAll(l.staticPodDir(n.Name), 0o755); err != nil {
			return err
		}
		// The API server keeps its state where `clusterkit up --data-dir` would: the cluster's
		// PKI in DATA/pki, the encryption configuration; etcd's member directory is there too
		// (an HA control plane's members each in a directory of their own).
		dataDir := filepath.Join(l.Dir, "data", "etcd")
		const etcdURL = "https://127.0.0.1:2379"
		etcdDir, etcdArgs, kubeconfig, port := dataDir, []string(nil), l.Kubeconfig, u.Port()
		var leaderElect []string
		etcdDirs := []string{dataDir}
		if ha {
			etcdDirs = []string{etcdDir, l.pkiDir()}
			etcdDir = filepath.Join(l.Dir, "data", "etcd-members", n.Name)
			etcdDirs[0] = etcdDir
			peer, err := pki.EnsureEtcdPeer(l.pkiDir(), n.Name, []net.IP{net.ParseIP(n.IP)})
			if err != nil {
				return fmt.Errorf("etcd peer certificate of %s: %w", n.Name, err)
			}
			etcdArgs = []string{"--name=" + n.Name, "--listen-peer-url=https://" + n.IP + ":2380",
				"--initial-cluster=" + strings.Join(initial, ","), "--peer-cert-file=" + peer.CertFile, "--peer-key-file=" + peer.KeyFile}
			// Each API server writes its own admin kubeconfig; the lab's names the load balancer.
			kubeconfig = filepath.Join(l.controlPlaneDir(), n.Name, "admin.conf")
			port = strconv.Itoa(apiPort)
			leaderElect = []string{"--leader-elect"}
		}
		pods := []*corev1.Pod{
			staticComponent("etcd", "100m", append([]string{"etcd", "serve", "--data-dir=" + etcdDir, "--pki-dir=" + l.pkiDir(),
				"--listen-client-url=" + etcdURL}, etcdArgs...), etcdDirs),
			staticComponent("kube-apiserver", "250m", []string{"up", "--nodes=0", "--control-plane-node=false", "--scheduler=none", "--controllers=none",
				"--address=" + n.IP, "--port=" + port, "--data-dir=" + dataDir, "--kubeconfig=" + kubeconfig,
				"--service-cidr=" + l.ServiceCIDR, "--etcd-endpoints=" + etcdURL, "--etcd-cafile=" + etcd.CA.CertFile,
				"--etcd-certfile=" + etcd.APIServerClient.CertFile, "--etcd-keyfile=" + etcd.APIServerClient.KeyFile},
				[]string{dataDir, filepath.Dir(kubeconfig)}),
		}
		switch {
		case l.Scheduler.custom():
			pods = append(pods, replacedComponent("kube-scheduler", "100m", l.Scheduler, confs["scheduler.conf"]))
		case l.Scheduler.Replace != ReplaceNone:
			pods = append(pods, staticComponent("kube-scheduler", "100m", append([]string{"scheduler", "--kubeconfig=" + confs["scheduler.conf"]}, leaderElect...),
				[]string{l.controlPlaneDir()}))
		}
		switch {
		case l.ControllerManager.custom():
			pods = append(pods, replacedComponent("kube-controller-manager", "200m", l.ControllerManager, confs["controller-manager.conf"]))
		case l.ControllerManager.Replace != ReplaceNone:
			pods = append(pods, staticComponent("kube-controller-manager", "200m", append([]string{"controller-manager",
				// The root CA it publishes is its kubeconfig's, the cluster CA.
				"--kubeconfig=" + confs["controller-manager.conf"], "--use-service-account-credentials"}, leaderElect...),
				[]string{l.controlPlaneDir()}))
		}
		for _, p := range pods {
			data, err := yaml.Marshal(p)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(l.staticPodDir(n.Name), p.Name+".yaml"), data, 0o600); err != nil {
				return err
			}
		}
	}
	return nil
}

// staticComponent is the static pod of one control plane component: on the node's network,
// system-node-critical, the host directories it works in mounted at their own paths (so its
// flags name host paths, as kubeadm's manifests do).
func staticComponent(name, cpu string, args []string, dirs []string) *corev1.Pod {
	p := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: metav1.NamespaceSystem,
			Labels: map[string]string{"component": name, "tier": "control-plane"}},
		Spec: corev1.PodSpec{
			HostNetwork: true, PriorityClassName: "system-node-critical",
			AutomountServiceAccountToken: ptr.To(false),
			Containers: []corev1.Container{{
				Name: name, Image: ControlPlaneImage, ImagePullPolicy: corev1.PullNever,
				Command:   append([]string{binaryInImage}, args...),
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}},
			}},
		},
	}
	for i, dir := range dirs {
		vol := fmt.Sprintf("host-%d", i)
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: vol, VolumeSource: corev1.VolumeSource{
			HostPath: &corev1.HostPathVolumeSource{Path: dir, Type: ptr.To(corev1.HostPathDirectoryOrCreate)}}})
		p.Spec.Containers[0].VolumeMounts = append(p.Spec.Containers[0].VolumeMounts,
			corev1.VolumeMount{Name: vol, MountPath: dir})
	}
	return p
}

// composeImages writes to cpPath the control plane's image: the clusterkit executable bin
// and the libraries it links (images.FromExecutable's base). When podPath is not "", it
// writes to podPath instead that image with the pause, test and cluster DNS images made of the
// same layer and a symlink (images.FromExecutable): a lab needs no source tree and no go
// command.
func composeImages(ctx context.Context, bin, cpPath, podPath string) error {
	base, programs, err := images.FromExecutable(ctx, bin)
	if err != nil {
		return fmt.Errorf("composing %s: %w", ControlPlaneImage, err)
	}
	if podPath == "" {
		return writeArchive(cpPath, map[string]v1.Image{ControlPlaneImage: base})
	}
	// One archive, so that a node imports the layer the images share once.
	programs[ControlPlaneImage] = base
	return writeArchive(podPath, programs)
}

func writeArchive(path string, imgs map[string]v1.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := images.WriteOCIArchive(w, imgs); err != nil {
		_ = f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// MarkControlPlane labels and taints the control-plane node as kubeadm's mark-control-plane
// phase does, with the admin's credentials (NodeRestriction keeps a kubelet from setting
// node-role labels on its own Node). `clusterkit up` marks its control-plane node with it too.
func MarkControlPlane(ctx context.Context, client kubernetes.Interface, name string) error {
	return labelAndTaint(ctx, client, name, map[string]string{LabelControlPlane: "", labelExcludeLB: ""}, []corev1.Taint{controlPlaneTaint})
}

// labelAndTaint adds labels to Node name and those of taints it does not have yet, with the
// caller's credentials, retrying on conflicts.
func labelAndTaint(ctx context.Context, client kubernetes.Interface, name string, labels map[string]string, taints []corev1.Taint) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		node, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if node.Labels == nil {
			node.Labels = map[string]string{}
		}
		maps.Copy(node.Labels, labels)
		for _, t := range taints {
			if !slices.ContainsFunc(node.Spec.Taints, func(have corev1.Taint) bool { return have.MatchTaint(&t) }) {
				node.Spec.Taints = append(node.Spec.Taints, t)
			}
		}
		_, err = client.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{})
		return err
	})
}

// waitControlPlanePods waits until the mirror pods of the control plane's static pods are
// Running on the control-plane node.
func (l *Lab) waitControlPlanePods(ctx context.Context, client kubernetes.Interface, node string, say func(string, ...any)) error {
	want := []string{"etcd-" + node, "kube-apiserver-" + node}
	if l.Scheduler.Replace != ReplaceNone {
		want = append(want, "kube-scheduler-"+node)
	}
	if l.ControllerManager.Replace != ReplaceNone {
		want = append(want, "kube-controller-manager-"+node)
	}
	running := map[string]bool{}
	var last string
	for len(running) < len(want) {
		for _, name := range want {
			if running[name] {
				continue
			}
			p, err := client.CoreV1().Pods(metav1.NamespaceSystem).Get(ctx, name, metav1.GetOptions{})
			switch {
			case err != nil:
				last = fmt.Sprintf("%s: %v", name, err)
			case p.Status.Phase == corev1.PodRunning:
				running[name] = true
				say("static pod %s/%s Running", p.Namespace, p.Name)
			default:
				last = fmt.Sprintf("%s is %s", name, p.Status.Phase)
			}
		}
		if len(running) == len(want) {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the control plane's static pods did not start (%s; see %s)", last,
				filepath.Join(l.Dir, "logs", node+".log"))
		case <-time.After(250 * time.Millisecond):
		}
	}
	return nil
}

// adminClient is a client with the lab's admin kubeconfig.
func (l *Lab) adminClient() (kubernetes.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", l.Kubeconfig)
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}
