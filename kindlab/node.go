package kindlab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	neturl "net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/clusterkit/clusterkit/cri/containerd"
	"github.com/clusterkit/clusterkit/reference/kubelet"
	"github.com/clusterkit/clusterkit/reference/kubelet/localnode"
	"github.com/clusterkit/clusterkit/reference/pki"
	"github.com/clusterkit/clusterkit/reference/proxy"
)

// Names inside every node namespace.
const (
	podBridge   = "ckpods0"
	guardBridge = "ckguard0"
)

// RunNode is the node agent: run inside the node's network namespace (clusterkit lab node,
// started by Create), it starts the node's containerd (pods on a bridge in this namespace,
// routing the pod range and the Service range to the node), imports the images of archive,
// runs the service proxy and the kubelet, and on ctx's end stops them in reverse order,
// removing the node's pods and rules. logf receives its log lines.
func RunNode(ctx context.Context, dir, nodeName, archive string, logf func(format string, args ...any)) error {
	lab, err := Load(dir)
	if err != nil {
		return err
	}
	n, err := lab.node(nodeName)
	if err != nil {
		return err
	}
	if err := checkNamespace(n.IP); err != nil {
		return err
	}
	cidr, err := netip.ParsePrefix(lab.ServiceCIDR)
	if err != nil {
		return err
	}
	nodeIP := netip.MustParseAddr(n.IP)
	for key, v := range map[string]string{"net/ipv4/ip_forward": "1", "net/bridge/bridge-nf-call-iptables": "1"} {
		if err := os.WriteFile("/proc/sys/"+key, []byte(v), 0o644); err != nil {
			logf("setting %s=%s: %v", key, v, err)
		}
	}
	// What the proxy did not translate is refused by it at once and goes nowhere.
	if err := proxy.GuardServiceRange(ctx, guardBridge, cidr); err != nil {
		return err
	}
	defer func() { _ = proxy.RemoveServiceRangeGuard(guardBridge) }()
	if u, err := neturl.Parse(lab.Server); err == nil {
		if err := masqueradeToGateway(n.PodSubnet, u.Hostname()); err != nil {
			return err
		}
	}

	cdir := filepath.Join(dir, "data", nodeName, "containerd")
	if len(cdir) > 70 { // unix socket paths are limited to 108 bytes
		if cdir, err = os.MkdirTemp("", "ckl"); err != nil {
			return err
		}
		defer os.RemoveAll(cdir)
	}
	if err := os.MkdirAll(cdir, 0o755); err != nil {
		return err
	}
	logf("starting containerd in %s (pods %s on %s)", cdir, n.PodSubnet, podBridge)
	// Pods reach Services, every pod and every node (a NodePort connection masqueraded to the
	// address of another node must be answerable) through their node; nothing else.
	inst, err := containerd.Start(ctx, containerd.Config{Dir: cdir, Bridge: podBridge, Subnet: n.PodSubnet,
		Routes: []string{lab.ServiceCIDR, PodRange, lab.Subnet}, LeaveIPForward: true})
	if err != nil {
		return fmt.Errorf("starting containerd: %w", err)
	}
	defer func() {
		logf("stopping containerd (removing the node's pods)")
		sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := inst.Stop(sctx); err != nil {
			logf("stopping containerd: %v", err)
		}
	}()
	// Recorded for Lab.ImportImages, which loads images into a running lab.
	addrFile := containerdAddressFile(dir, nodeName)
	if err := os.WriteFile(addrFile, []byte(inst.Address()), 0o644); err != nil {
		return err
	}
	defer os.Remove(addrFile)
	archives := []string{archive, lab.controlPlaneArchive(), lab.componentsArchive()}
	// And what lab load put into the lab before this node started (a node added since).
	loaded, _ := filepath.Glob(filepath.Join(lab.loadedDir(), "*.tar"))
	archives = append(archives, loaded...)
	for i, archive := range archives {
		if archive == "" {
			continue
		}
		if _, err := os.Stat(archive); i > 0 && errors.Is(err, os.ErrNotExist) {
			continue // the control plane's image is in the first archive (composeImages); no components swapped
		}
		f, err := os.Open(archive)
		if err != nil {
			return err
		}
		names, err := inst.Import(ctx, f)
		_ = f.Close()
		if err != nil {
			return fmt.Errorf("importing %s: %w", archive, err)
		}
		logf("imported %v", names)
	}

	// The kubelet is system:node:NAME (writeIdentities). The service proxy is not this agent's:
	// kube-proxy runs as a DaemonSet pod on the node's network (installKubeProxy); until it
	// has programmed its rules, the guard above refuses connections to Service addresses.
	kc, err := clientcmd.BuildConfigFromFlags("", lab.nodeKubeconfig(nodeName))
	if err != nil {
		return err
	}
	kcfg := kubelet.Config{NodeIP: n.IP, ServerAddress: net.JoinHostPort(n.IP, strconv.Itoa(kubeletPort)), Logf: logf}
	// The node's pods get addresses of its subnet (containerd's bridge above): register it as
	// the node's podCIDR, which the control plane's node IPAM controller then keeps.
	kcfg.PodCIDR, kcfg.Capacity = n.PodSubnet, capacityOf(lab.NodeCapacity, n.Capacity)
	if n.ControlPlane {
		kcfg.StaticPodPath = lab.staticPodDir(nodeName)
	}
	dnsIP, err := lab.clusterDNSIP()
	if err != nil {
		return err
	}
	kcfg.ClusterDNS, kcfg.ClusterDomain = []string{dnsIP}, ClusterDomain
	if err := lockKubeletAPI(&kcfg, lab.pkiDir(), lab.ServiceCIDR, nodeName, nodeIP); err != nil {
		return err
	}
	node, err := localnode.Start(ctx, kc, localnode.Config{
		Name: nodeName, Dir: filepath.Join(dir, "data", nodeName, "kubelet"), Runtime: inst.Endpoint(),
		Kubelet: kcfg,
	})
	if err != nil {
		return fmt.Errorf("starting the kubelet: %w", err)
	}
	logf("kubelet of %s running (logs and exec on %s:%d)", nodeName, n.IP, kubeletPort)
	<-ctx.Done()
	logf("stopping the kubelet")
	node.Close()
	return nil
}

// lockKubeletAPI gives the node's kubelet its serving certificate (for its address, issued from
// the control plane's PKI, which `up` keeps under the lab's data directory) and the cluster
// CA as client CA: the kubelet API serves HTTPS, admits the API server by its
// kube-apiserver-kubelet-client certificate, refuses anonymous callers and authorizes the rest
// by SubjectAccessReview — what the control plane's API server expects of kubelets.
func lockKubeletAPI(kc *kubelet.Config, pkiDir, serviceCIDR, nodeName string, nodeIP netip.Addr) error {
	bundle, err := pki.Ensure(pkiDir, pki.Options{ServiceCIDR: serviceCIDR})
	if err != nil {
		return fmt.Errorf("the lab's PKI: %w", err)
	}
	certs, err := bundle.EnsureNode(pki.Node{Name: nodeName, IPs: []net.IP{net.IP(nodeIP.AsSlice())}})
	if err != nil {
		return fmt.Errorf("the kubelet's certificates: %w", err)
	}
	serving, err := certs.Serving.TLSCertificate()
	if err != nil {
		return fmt.Errorf("the kubelet's serving certificate: %w", err)
	}
	kc.TLSCertificate = &serving
	kc.ClientCA = bundle.CA.CertPEM
	return nil
}

// checkNamespace makes sure the agent runs inside the node's namespace: addr must be one of
// this namespace's addresses.
func checkNamespace(addr string) error {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if p, ok := a.(*net.IPNet); ok && p.IP.String() == addr {
			return nil
		}
	}
	return errors.New("lab node: not inside the node's network namespace (run through `clusterkit lab create`, which starts it with nsenter)")
}
