package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/clusterkit/clusterkit/cri/containerd"
	"github.com/clusterkit/clusterkit/cri/images"
	"github.com/clusterkit/clusterkit/cri/simruntime"
	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/kubelet"
	"github.com/clusterkit/clusterkit/reference/kubelet/localnode"
)

// privateContainerd is the --runtime value that starts a private containerd.
const privateContainerd = "containerd"

// upRuntimeEndpoint maps --runtime to localnode's Runtime (privateContainerd
// stays as is: startUpNodes starts one).
func upRuntimeEndpoint(runtime string) string {
	switch runtime {
	case "", localnode.Simulated, "simulated":
		return localnode.Simulated
	case privateContainerd:
		return privateContainerd
	}
	if !strings.Contains(runtime, "://") {
		return "unix://" + runtime
	}
	return runtime
}

// upRuntimeSocket is the socket of the runtime up's nodes use that is known
// before they start: the path of a --runtime unix:///path (containerd serves
// CRI on its own socket). None for the simulated runtime, for no nodes, and
// for the private containerd, whose socket startUpNodes records once it runs.
func upRuntimeSocket(o *upOptions) []string {
	endpoint := upRuntimeEndpoint(o.runtime)
	path, ok := strings.CutPrefix(endpoint, "unix://")
	if o.nodes <= 0 || !ok || path == "" {
		return nil
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return []string{path}
}

// startUpNodes starts o.nodes nodes (node-1 … node-N) in the background
// against the API server, each kubelet with its own client certificate; the returned function stops them once ctx
// is done. With the private containerd, the service proxies start first and
// the nodes only once every proxy has programmed its table (the API server
// serves only after this returns, so all of it runs in the background).
// The private containerd's socket is recorded in the kubeconfig as soon as
// it runs.
func startUpNodes(ctx context.Context, o *upOptions, acc upAccess, say func(string, ...any)) func() {
	if o.nodes <= 0 {
		return func() {}
	}
	endpoint := upRuntimeEndpoint(o.runtime)
	names := upNodeNames(o.nodes)
	switch {
	case endpoint == localnode.Simulated:
		say("no service proxy: the simulated runtime has no kernel path to program (ClusterIPs and NodePorts are allocated but not served)")
	case endpoint != privateContainerd:
		say("no service proxy: the pods' network of %s is not known here; run `clusterkit proxy` in it", endpoint)
	case !o.proxy:
		say("no service proxy (--proxy=false): ClusterIPs and NodePorts are allocated but not served")
	}
	var pn *upProxyNet
	if endpoint == privateContainerd && o.proxy {
		serviceCIDR := o.serviceCIDR
		if serviceCIDR == "" {
			serviceCIDR = apiserver.DefaultServiceCIDR
		}
		cidr, err := netip.ParsePrefix(serviceCIDR)
		if err != nil || !cidr.Addr().Is4() {
			say("no nodes: --service-cidr %q is not an IPv4 CIDR", serviceCIDR)
			return func() {}
		}
		pn = &upProxyNet{ServiceCIDR: cidr.Masked()}
	}
	var (
		mu          sync.Mutex
		nodes       []*localnode.Node
		stopRuntime = func() {}
		proxies     *upProxies
		wg          sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if endpoint == privateContainerd {
			recordSocket := func(address string) {
				if err := writeUpKubeconfig(o, acc, []string{address}); err != nil {
					say("recording containerd's socket in the kubeconfig: %v", err)
					return
				}
				say("kubeconfig %s now records the nodes' containerd (%s)", o.kubeconfig, address)
			}
			ep, stop, err := startPrivateContainerd(ctx, o.dataDir, pn, recordSocket, say)
			if err != nil {
				say("no nodes: %v", err)
				return
			}
			mu.Lock()
			endpoint, stopRuntime = ep, stop
			mu.Unlock()
			if pn != nil {
				ps, err := startUpProxies(ctx, acc.rest(acc.pki.Proxy), names, *pn, say)
				if err != nil {
					say("no nodes: %v", err)
					return
				}
				mu.Lock()
				proxies = ps
				mu.Unlock()
				if err := ps.waitSynced(ctx, time.Minute); err != nil {
					// Pods route the service range to the node: without the proxy's table
					// that traffic would follow the machine's default route. No nodes then.
					if ctx.Err() == nil {
						say("no nodes: %v", err)
					}
					return
				}
			}
		}
		var kcfg kubelet.Config
		if err := o.nodeShape.apply(&kcfg); err != nil {
			say("no nodes: %v", err)
			return
		}
		if pn != nil {
			// Pods reach the node (and its NodePorts) at the bridge gateway.
			kcfg.AdditionalNodeIPs = []string{pn.NodeIP.String()}
		}
		for i, name := range names {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
				defer cancel()
				// Each kubelet is system:node:NAME by its own client certificate, and serves its
				// API locked with its serving certificate (kubeadm's kubelet: client certificates
				// signed by the cluster CA, TokenReview, SubjectAccessReview, no anonymous).
				kc, err := upKubeletConfig(kcfg, acc, name)
				if err != nil {
					say("node %s did not start: %v", name, err)
					return
				}
				// Every node its own loopback address: its InternalIP, where its kubelet serves,
				// the host IP of its host-network pods.
				nodeIP := upNodeIP(i).String()
				kc.NodeIP, kc.ServerAddress = nodeIP, net.JoinHostPort(nodeIP, "0")
				if endpoint == localnode.Simulated {
					// The simulated runtime gives the node's pods addresses of its own subnet:
					// register it as the node's podCIDR (the node IPAM controller keeps it).
					kc.PodCIDR = simruntime.NodeSubnet(i).String()
				}
				n, err := localnode.Start(sctx, acc.rest(acc.pki.Nodes[name].Client), localnode.Config{
					Name:    name,
					Dir:     filepath.Join(o.dataDir, "nodes", name),
					Runtime: endpoint,
					Sim:     simruntime.Options{PodSubnet: simruntime.NodeSubnet(i), HostIP: nodeIP},
					Kubelet: kc,
				})
				if err != nil {
					if ctx.Err() == nil {
						say("node %s did not start: %v", name, err)
					}
					return
				}
				mu.Lock()
				nodes = append(nodes, n)
				mu.Unlock()
				say("node %s ready (runtime %s, kubelet on %s)", name, o.runtime, net.JoinHostPort(nodeIP, strconv.Itoa(n.Kubelet().Port())))
			}()
		}
	}()
	return func() {
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, n := range nodes {
			n.Close()
		}
		stopRuntime()
		if proxies != nil {
			proxies.stop() // last: pods are gone, so none sends to the range unguarded
		}
	}
}

// upKubeletConfig is kcfg with node's kubelet API locked: its serving certificate from the PKI,
// the cluster CA verifying callers' client certificates (the API server's
// kube-apiserver-kubelet-client), anonymous requests refused and Webhook authorization.
func upKubeletConfig(kcfg kubelet.Config, acc upAccess, node string) (kubelet.Config, error) {
	certs, ok := acc.pki.Nodes[node]
	if !ok {
		return kcfg, fmt.Errorf("the PKI has no certificates for node %s", node)
	}
	serving, err := certs.Serving.TLSCertificate()
	if err != nil {
		return kcfg, fmt.Errorf("the serving certificate of node %s: %w", node, err)
	}
	kcfg.TLSCertificate = &serving
	kcfg.ClientCA = acc.pki.CA.CertPEM
	kcfg.AnonymousAuth = false
	kcfg.AuthorizationMode = kubelet.AuthorizationWebhook
	return kcfg, nil
}

// The private containerd's bridge and pod subnet.
const (
	upBridge    = "ckup0"
	upPodSubnet = "10.90.0.0/24"
)

// startPrivateContainerd starts a containerd of its own for `up --runtime
// containerd` (own root, state, bridge ckup0 and pod subnet 10.90.0.0/24)
// and loads clusterkit's images into it, built from the source tree (when
// the go command and the source are at hand; else load them later with
// `clusterkit images load`); started gets its socket path (absolute) once
// it runs, before the images. Stopping it removes every pod it ran. With pn
// (the service proxy runs), pods route pn.ServiceCIDR to the bridge gateway,
// and pn's NodeIP and PodSubnet are filled in.
func startPrivateContainerd(ctx context.Context, dataDir string, pn *upProxyNet, started func(address string), say func(string, ...any)) (string, func(), error) {
	if err := containerd.Available(); err != nil {
		return "", nil, fmt.Errorf("real containers unavailable: %w", err)
	}
	dir := filepath.Join(dataDir, "containerd")
	if len(dir) > 70 { // keep the socket paths under the unix limit
		d, err := os.MkdirTemp("", "ckup")
		if err != nil {
			return "", nil, err
		}
		dir = d
	}
	cfg := containerd.Config{Dir: dir, Bridge: upBridge, Subnet: upPodSubnet}
	if pn != nil {
		cfg.Routes = []string{pn.ServiceCIDR.String()}
		pn.NodeIP = cfg.Gateway()
		pn.PodSubnet = netip.MustParsePrefix(upPodSubnet)
	}
	inst, err := containerd.Start(ctx, cfg)
	if err != nil {
		return "", nil, fmt.Errorf("starting containerd: %w", err)
	}
	stop := func() {
		if err := inst.Stop(context.Background()); err != nil {
			say("stopping containerd: %v", err)
		}
	}
	say("containerd running at %s", inst.Endpoint())
	address := inst.Address()
	if abs, err := filepath.Abs(address); err == nil {
		address = abs
	}
	started(address)
	if imgs, note, err := images.BuildOrFromExecutable(ctx, false); err != nil {
		say("could not make the pause and test images (%v); pods will wait for them: load an archive with clusterkit images load --address %s --archive FILE", err, address)
	} else {
		say("pause and test images %s", note)
		var archive bytes.Buffer
		if err := images.WriteOCIArchive(&archive, imgs); err == nil {
			if _, err := inst.Import(ctx, &archive); err != nil {
				say("importing the test images: %v", err)
			}
		}
	}
	return inst.Endpoint(), stop, nil
}
