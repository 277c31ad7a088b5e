package simruntime_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/clusterkit/clusterkit/cri/simruntime"
	"github.com/clusterkit/clusterkit/cri/testimage/behavior"
)

// fakePodNetwork hands out loopback IPs of its own subnet and records what
// the runtime does through it.
type fakePodNetwork struct {
	mu       sync.Mutex
	next     netip.Addr
	fail     bool
	attached []string // sandbox IDs
	listens  []string
	dials    []string
	closed   []netip.Addr
}

type fakeSandboxNetwork struct {
	pn *fakePodNetwork
	ip netip.Addr
}

func (f *fakePodNetwork) Attach(ctx context.Context, sandboxID string) (simruntime.SandboxNetwork, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return nil, errors.New("no IPs left in the fake")
	}
	f.attached = append(f.attached, sandboxID)
	f.next = f.next.Next()
	return &fakeSandboxNetwork{pn: f, ip: f.next}, nil
}

func (f *fakePodNetwork) record(list *[]string, s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	*list = append(*list, s)
}

func (f *fakePodNetwork) snapshot() (attached, listens, dials []string, closed []netip.Addr) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.attached), slices.Clone(f.listens), slices.Clone(f.dials), slices.Clone(f.closed)
}

func (n *fakeSandboxNetwork) IP() netip.Addr { return n.ip }

func (n *fakeSandboxNetwork) Listen(network, address string) (net.Listener, error) {
	n.pn.record(&n.pn.listens, address)
	return net.Listen(network, address)
}

func (n *fakeSandboxNetwork) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	n.pn.record(&n.pn.dials, address)
	var d net.Dialer
	return d.DialContext(ctx, network, address)
}

func (n *fakeSandboxNetwork) Close() error {
	n.pn.mu.Lock()
	defer n.pn.mu.Unlock()
	n.pn.closed = append(n.pn.closed, n.ip)
	return nil
}

func TestPodSubnetIsCheckedOnlyWithoutPodNetwork(t *testing.T) {
	outside := netip.MustParsePrefix("10.244.0.0/24")
	cases := []struct {
		name    string
		opts    simruntime.Options
		wantErr bool
	}{
		{name: "loopback subnet", opts: simruntime.Options{PodSubnet: simruntime.NodeSubnet(3)}},
		{name: "subnet outside loopback", opts: simruntime.Options{PodSubnet: outside}, wantErr: true},
		{name: "subnet outside loopback with a pod network", opts: simruntime.Options{PodSubnet: outside, PodNetwork: &fakePodNetwork{}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := simruntime.New(tc.opts)
			if (err != nil) != tc.wantErr {
				t.Fatalf("New(%v) error = %v; want error %v", tc.opts.PodSubnet, err, tc.wantErr)
			}
		})
	}
}

func TestPodNetworkGivesSandboxesTheirNetwork(t *testing.T) {
	// Loopback addresses far from the subnets the other tests use.
	pn := &fakePodNetwork{next: simruntime.NodeSubnet(1013).Addr()}
	e := start(t, simruntime.Options{PodNetwork: pn})

	sb, ip := e.sandbox("netpod")
	attached, _, _, _ := pn.snapshot()
	if want := pn.next.String(); ip != want || !slices.Equal(attached, []string{sb}) {
		t.Fatalf("sandbox %s got IP %s, attached %q; want IP %s from one Attach of that sandbox", sb, ip, attached, want)
	}
	id := e.run(sb, "web", behavior.TestImage, nil, []string{"serve-hostname", "--port", "8080"})
	if code, body := httpGet(t, "http://"+ip+":8080/"); code != 200 || body != "netpod" {
		t.Fatalf("GET / = %d %q; want 200 netpod", code, body)
	}
	if _, listens, _, _ := pn.snapshot(); !slices.Equal(listens, []string{ip + ":8080"}) {
		t.Fatalf("listened through the pod network on %q; want [%s:8080]", listens, ip)
	}

	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "backend") }))
	defer backend.Close()
	for _, tc := range []struct {
		name     string
		cmd      []string
		stdout   string
		wantDial string
	}{
		{name: "healthz dials the pod IP from inside", cmd: []string{"ckimage", "healthz", "--port", "8080"}, stdout: "200 OK\n", wantDial: ip + ":8080"},
		{name: "post dials the pod IP from inside", cmd: []string{"ckimage", "post", "--port", "8080", "/ready"}, wantDial: ip + ":8080"},
		{name: "fetch dials from inside", cmd: []string{"ckimage", "fetch", backend.URL + "/"}, stdout: "backend", wantDial: strings.TrimPrefix(backend.URL, "http://")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, before, _ := pn.snapshot()
			r, err := e.rt.ExecSync(e.ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: tc.cmd, Timeout: 5})
			if err != nil || r.ExitCode != 0 || (tc.stdout != "" && string(r.Stdout) != tc.stdout) {
				t.Fatalf("ExecSync %q = %+v, %v; want exit 0 stdout %q", tc.cmd, r, err, tc.stdout)
			}
			_, _, after, _ := pn.snapshot()
			if got := after[len(before):]; !slices.Equal(got, []string{tc.wantDial}) {
				t.Fatalf("ExecSync %q dialled %q through the pod network; want [%s]", tc.cmd, got, tc.wantDial)
			}
		})
	}

	// A host-network sandbox gets no network of its own.
	if _, err := e.rt.RunPodSandbox(e.ctx, &runtimeapi.RunPodSandboxRequest{Config: &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: "hostnet", Namespace: "default", Uid: "hostnet-uid"},
		Linux: &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE}}},
	}}); err != nil {
		t.Fatal(err)
	}
	if attached, _, _, _ := pn.snapshot(); len(attached) != 1 {
		t.Fatalf("host-network sandbox attached a pod network: %q", attached)
	}

	// StopPodSandbox keeps the network; RemovePodSandbox removes it.
	if _, err := e.rt.StopPodSandbox(e.ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb}); err != nil {
		t.Fatal(err)
	}
	if _, _, _, closed := pn.snapshot(); len(closed) != 0 {
		t.Fatalf("StopPodSandbox closed %v", closed)
	}
	if _, err := e.rt.RemovePodSandbox(e.ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb}); err != nil {
		t.Fatal(err)
	}
	if _, _, _, closed := pn.snapshot(); !slices.Equal(closed, []netip.Addr{netip.MustParseAddr(ip)}) {
		t.Fatalf("after RemovePodSandbox closed %v; want [%s]", closed, ip)
	}
	if _, err := e.rt.RemovePodSandbox(e.ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb}); err != nil {
		t.Fatalf("second RemovePodSandbox: %v", err)
	}

	// Closing the runtime removes the networks still attached, once.
	_, ip2 := e.sandbox("netpod-2")
	e.sim.Close()
	e.sim.Close()
	if _, _, _, closed := pn.snapshot(); !slices.Equal(closed, []netip.Addr{netip.MustParseAddr(ip), netip.MustParseAddr(ip2)}) {
		t.Fatalf("after Close closed %v; want [%s %s]", closed, ip, ip2)
	}
}

func TestPodNetworkAttachFailureFailsTheSandbox(t *testing.T) {
	pn := &fakePodNetwork{next: simruntime.NodeSubnet(1014).Addr(), fail: true}
	e := start(t, simruntime.Options{PodNetwork: pn})
	_, err := e.rt.RunPodSandbox(e.ctx, &runtimeapi.RunPodSandboxRequest{Config: &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: "nonet", Namespace: "default", Uid: "nonet-uid"},
	}})
	if err == nil || !strings.Contains(err.Error(), "no IPs left in the fake") {
		t.Fatalf("RunPodSandbox with a failing pod network: %v; want the Attach error", err)
	}
	list, err := e.rt.ListPodSandbox(e.ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil || len(list.Items) != 0 {
		t.Fatalf("sandboxes after a failed Attach: %v, %v; want none", list.GetItems(), err)
	}
}
