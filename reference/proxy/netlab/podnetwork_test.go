package netlab_test

import (
	"context"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/clusterkit/clusterkit/cri/simruntime"
	"github.com/clusterkit/clusterkit/cri/testimage/behavior"
	"github.com/clusterkit/clusterkit/reference/proxy/netlab"
)

// The adapter is a simruntime.PodNetwork without netlab importing cri/.
var _ simruntime.PodNetwork = (*netlab.PodNetwork)(nil)

// recordingPodNetwork remembers the namespaces it handed out.
type recordingPodNetwork struct {
	*netlab.PodNetwork
	mu  sync.Mutex
	got []*netlab.PodNamespace
}

func (r *recordingPodNetwork) Attach(ctx context.Context, sandboxID string) (simruntime.SandboxNetwork, error) {
	sn, err := r.PodNetwork.Attach(ctx, sandboxID)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, sn.(*netlab.PodNamespace))
	return sn, nil
}

func (r *recordingPodNetwork) last() *netlab.PodNamespace {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got[len(r.got)-1]
}

func netnsExists(t *testing.T, name string) bool {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns list: %v: %s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == name {
			return true
		}
	}
	return false
}

func TestPodNetworkGivesSimulatedPodsRealNamespaces(t *testing.T) {
	if why := netlab.Supported(); why != "" {
		t.Skip(why)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	lab, err := netlab.New(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := lab.Close(); err != nil {
			t.Errorf("lab.Close: %v", err)
		}
	}()
	pn := &recordingPodNetwork{PodNetwork: lab.PodNetwork()}
	sim, err := simruntime.New(simruntime.Options{PodNetwork: pn})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()

	runSandbox := func(name string) (string, netip.Addr) {
		t.Helper()
		resp, err := sim.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: &runtimeapi.PodSandboxConfig{
			Metadata: &runtimeapi.PodSandboxMetadata{Name: name, Namespace: "default", Uid: name + "-uid"},
			Hostname: name,
		}})
		if err != nil {
			t.Fatalf("RunPodSandbox %s: %v", name, err)
		}
		st, err := sim.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: resp.PodSandboxId})
		if err != nil {
			t.Fatal(err)
		}
		ip, err := netip.ParseAddr(st.Status.Network.Ip)
		if err != nil {
			t.Fatalf("sandbox %s IP %q: %v", name, st.Status.Network.Ip, err)
		}
		return resp.PodSandboxId, ip
	}

	sb, ip := runSandbox("web-1")
	if !lab.Subnet.Contains(ip) {
		t.Fatalf("pod IP %s not in the lab subnet %s", ip, lab.Subnet)
	}
	ns := pn.last().Pod.Name
	if !netnsExists(t, ns) {
		t.Fatalf("namespace %s of the sandbox not in ip netns list", ns)
	}
	cresp, err := sim.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb, Config: &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "web"},
		Image:    &runtimeapi.ImageSpec{Image: behavior.TestImage},
		Args:     []string{"serve-hostname", "--port", "8080"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	id := cresp.ContainerId
	if _, err := sim.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: id}); err != nil {
		t.Fatal(err)
	}
	target := netip.AddrPortFrom(ip, 8080).String()

	// Another pod of the lab reaches the simulated pod over the bridge.
	other, err := lab.AddPod(ctx)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := other.HTTPClient(5 * time.Second).Get("http://" + target + "/")
	if err != nil {
		t.Fatalf("GET %s from another lab pod: %v", target, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "web-1" {
		t.Fatalf("GET %s from another lab pod = %d %q; want 200 web-1", target, resp.StatusCode, body)
	}

	// The host namespace does not hold the pod's address: it cannot listen on it, and a
	// connection kept on the host's own stack (bound to lo, so nothing leaves the machine
	// by the host's default route) does not reach the server.
	if ln, err := net.Listen("tcp", netip.AddrPortFrom(ip, 0).String()); err == nil {
		ln.Close()
		t.Fatalf("the host namespace can listen on pod IP %s", ip)
	}
	d := net.Dialer{Timeout: time.Second, Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptString(int(fd), syscall.SOL_SOCKET, syscall.SO_BINDTODEVICE, "lo")
		}); err != nil {
			return err
		}
		return serr
	}}
	if c, err := d.DialContext(ctx, "tcp", target); err == nil {
		c.Close()
		t.Fatalf("the host namespace reached %s", target)
	} else {
		t.Logf("dial %s from the host: %v", target, err)
	}

	// Exec commands connect from inside the pod: the other pod is reachable only there.
	stop, err := other.ServeHostname(ctx, 9090, "other-pod")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	execSync := func(cmd ...string) *runtimeapi.ExecSyncResponse {
		t.Helper()
		r, err := sim.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: cmd, Timeout: 10})
		if err != nil {
			t.Fatalf("ExecSync %q: %v", cmd, err)
		}
		return r
	}
	otherURL := "http://" + netip.AddrPortFrom(other.IP, 9090).String() + "/"
	if r := execSync("/ckimage", "fetch", otherURL); r.ExitCode != 0 || string(r.Stdout) != "other-pod" {
		t.Fatalf("fetch %s from the simulated pod = exit %d stdout %q stderr %q; want other-pod", otherURL, r.ExitCode, r.Stdout, r.Stderr)
	}
	if r := execSync("/ckimage", "fetch", "--count", "2", otherURL); r.ExitCode != 0 || string(r.Stdout) != "other-pod\nother-pod\n" {
		t.Fatalf("fetch --count 2 %s = exit %d stdout %q", otherURL, r.ExitCode, r.Stdout)
	}
	if r := execSync("/ckimage", "healthz", "--port", "8080"); r.ExitCode != 0 {
		t.Fatalf("healthz of the container's own port = exit %d stderr %q", r.ExitCode, r.Stderr)
	}

	// RemovePodSandbox deletes the namespace.
	if _, err := sim.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb}); err != nil {
		t.Fatal(err)
	}
	if netnsExists(t, ns) {
		t.Fatalf("namespace %s still listed after RemovePodSandbox", ns)
	}
	// The removed pod's address left the lab with it: nothing answers on it.
	if c, err := other.Dial(ctx, "tcp", target); err == nil {
		c.Close()
		t.Fatalf("%s still answers after RemovePodSandbox", target)
	}

	// Closing the runtime deletes the namespaces still in use.
	runSandbox("web-2")
	ns2 := pn.last().Pod.Name
	if !netnsExists(t, ns2) {
		t.Fatalf("namespace %s of the second sandbox not listed", ns2)
	}
	sim.Close()
	if netnsExists(t, ns2) {
		t.Fatalf("namespace %s still listed after the runtime closed", ns2)
	}
}
