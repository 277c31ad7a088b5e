package simruntime_test

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/clusterkit/clusterkit/cri/client"
	"github.com/clusterkit/clusterkit/cri/simruntime"
	"github.com/clusterkit/clusterkit/cri/testimage/behavior"
)

type env struct {
	t    *testing.T
	ctx  context.Context
	rt   runtimeapi.RuntimeServiceClient
	img  runtimeapi.ImageServiceClient
	sim  *simruntime.Runtime
	logs string
	sock string
}

func start(t *testing.T, opts simruntime.Options) *env {
	t.Helper()
	if !opts.PodSubnet.IsValid() {
		// a distinct subnet per test so listeners never collide
		h := fnv.New32a()
		h.Write([]byte(t.Name()))
		opts.PodSubnet = simruntime.NodeSubnet(100 + int(h.Sum32()%800))
	}
	sim, err := simruntime.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "sim.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Serve(ctx, ln) }()
	conn, err := client.New(sock).Raw()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	tctx, tcancel := context.WithTimeout(ctx, 30*time.Second)
	t.Cleanup(tcancel)
	if err := conn.WaitReady(tctx); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, ctx: tctx, rt: conn.Runtime, img: conn.Images, sim: sim, logs: filepath.Join(dir, "logs"), sock: sock}
}

func (e *env) sandbox(name string) (string, string) {
	e.t.Helper()
	resp, err := e.rt.RunPodSandbox(e.ctx, &runtimeapi.RunPodSandboxRequest{Config: &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: name, Namespace: "default", Uid: name + "-uid"},
		Hostname:     name,
		LogDirectory: filepath.Join(e.logs, name),
		Labels:       map[string]string{"app": name},
	}})
	if err != nil {
		e.t.Fatal(err)
	}
	st, err := e.rt.PodSandboxStatus(e.ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: resp.PodSandboxId})
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.PodSandboxId, st.Status.Network.Ip
}

func (e *env) run(sb, name, image string, command, args []string) string {
	e.t.Helper()
	id := e.create(sb, name, image, command, args)
	if _, err := e.rt.StartContainer(e.ctx, &runtimeapi.StartContainerRequest{ContainerId: id}); err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *env) create(sb, name, image string, command, args []string) string {
	e.t.Helper()
	resp, err := e.rt.CreateContainer(e.ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb, Config: &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: name},
		Image:    &runtimeapi.ImageSpec{Image: image},
		Command:  command,
		Args:     args,
		LogPath:  name + "/0.log",
		Labels:   map[string]string{"container": name},
	}})
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.ContainerId
}

func (e *env) status(id string) *runtimeapi.ContainerStatus {
	e.t.Helper()
	resp, err := e.rt.ContainerStatus(e.ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.Status
}

func (e *env) waitExited(id string) *runtimeapi.ContainerStatus {
	e.t.Helper()
	for {
		st := e.status(id)
		if st.State == runtimeapi.ContainerState_CONTAINER_EXITED {
			return st
		}
		select {
		case <-e.ctx.Done():
			e.t.Fatalf("container %s never exited: %v", id, st.State)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func httpGet(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestVersionThroughKubeletClient(t *testing.T) {
	e := start(t, simruntime.Options{})
	rs, err := client.New(e.sock).Runtime(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	v, err := rs.Version(e.ctx, "v1")
	if err != nil || v.RuntimeName != simruntime.RuntimeName || v.RuntimeApiVersion != "v1" {
		t.Fatalf("Version = %+v, %v", v, err)
	}
	is, err := client.New("unix://" + e.sock).Images(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	img, err := is.ImageStatus(e.ctx, &runtimeapi.ImageSpec{Image: behavior.TestImage}, false)
	if err != nil || img.Image == nil {
		t.Fatalf("test image not present: %+v, %v", img, err)
	}
}

func TestServeHostnameAndLogs(t *testing.T) {
	e := start(t, simruntime.Options{})
	sb, ip := e.sandbox("web-1")
	if !netip.MustParseAddr(ip).IsLoopback() {
		t.Fatalf("pod IP %s not loopback", ip)
	}
	id := e.run(sb, "web", behavior.TestImage, nil, []string{"serve-hostname", "--port", "8080"})
	if code, body := httpGet(t, "http://"+ip+":8080/"); code != 200 || body != "web-1" {
		t.Fatalf("GET / = %d %q; want 200 web-1", code, body)
	}
	st := e.status(id)
	if st.State != runtimeapi.ContainerState_CONTAINER_RUNNING || st.StartedAt == 0 {
		t.Fatalf("status %+v", st)
	}
	b, err := os.ReadFile(st.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\S+Z stdout F serving hostname web-1 on port 8080\n$`).Match(b) {
		t.Fatalf("log %q not in CRI format", b)
	}
	// A second server on the same port in the same pod fails like a real process.
	id2 := e.run(sb, "web2", behavior.TestImage, nil, []string{"serve-hostname"})
	if st := e.waitExited(id2); st.ExitCode != 1 || st.Reason != "Error" {
		t.Fatalf("second listener: %+v", st)
	}
	// Stop: SIGTERM, exit 0, Completed, listener closed.
	if _, err := e.rt.StopContainer(e.ctx, &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: 30}); err != nil {
		t.Fatal(err)
	}
	if st := e.status(id); st.State != runtimeapi.ContainerState_CONTAINER_EXITED || st.ExitCode != 0 || st.Reason != "Completed" {
		t.Fatalf("after stop %+v", st)
	}
	b, _ = os.ReadFile(st.LogPath)
	if !strings.HasSuffix(string(b), "stdout F "+behavior.TermLine+"\n") {
		t.Fatalf("log after stop %q", b)
	}
	if _, err := http.Get("http://" + ip + ":8080/"); err == nil {
		t.Fatal("listener still open after stop")
	}
}

func TestExitAfterDelay(t *testing.T) {
	e := start(t, simruntime.Options{})
	sb, _ := e.sandbox("crash")
	begin := time.Now()
	id := e.run(sb, "c", behavior.TestImage, []string{"/ckimage", "exit"}, []string{"--code", "3", "--after", "300ms"})
	st := e.waitExited(id)
	if st.ExitCode != 3 || st.Reason != "Error" || st.FinishedAt-st.StartedAt < int64(300*time.Millisecond) {
		t.Fatalf("status %+v", st)
	}
	if time.Since(begin) < 300*time.Millisecond {
		t.Fatal("exited too early")
	}
	id0 := e.run(sb, "ok", behavior.TestImage, nil, []string{"exit"})
	if st := e.waitExited(id0); st.ExitCode != 0 || st.Reason != "Completed" {
		t.Fatalf("exit 0: %+v", st)
	}
}

func TestLivenessAndExecSync(t *testing.T) {
	e := start(t, simruntime.Options{})
	sb, ip := e.sandbox("live")
	id := e.run(sb, "l", behavior.TestImage, nil, []string{"liveness", "--fail-after", "400ms", "--port", "9090"})
	execSync := func(cmd ...string) *runtimeapi.ExecSyncResponse {
		t.Helper()
		r, err := e.rt.ExecSync(e.ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: cmd, Timeout: 5})
		if err != nil {
			t.Fatalf("ExecSync %q: %v", cmd, err)
		}
		return r
	}
	if code, _ := httpGet(t, "http://"+ip+":9090/healthz"); code != 200 {
		t.Fatalf("healthz at start = %d", code)
	}
	if r := execSync("ckimage", "healthz", "--port", "9090"); r.ExitCode != 0 {
		t.Fatalf("exec healthz at start: %+v", r)
	}
	if r := execSync("ckimage", "hostname"); string(r.Stdout) != "live\n" {
		t.Fatalf("hostname: %q", r.Stdout)
	}
	if _, err := e.rt.ExecSync(e.ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"sh"}}); status.Code(err) != codes.Unknown {
		t.Fatalf("exec sh in test image: %v; want Unknown error", err)
	}
	for {
		code, _ := httpGet(t, "http://"+ip+":9090/healthz")
		if code == 500 {
			break
		}
		if e.ctx.Err() != nil {
			t.Fatal("healthz never failed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r := execSync("/ckimage", "healthz", "--port", "9090"); r.ExitCode != 1 {
		t.Fatalf("exec healthz after fail-after: %+v", r)
	}
}

func TestStopGrace(t *testing.T) {
	e := start(t, simruntime.Options{})
	sb, _ := e.sandbox("grace")
	cases := []struct {
		name    string
		args    []string
		timeout int64
		code    int32
		minWait time.Duration
	}{
		{name: "term delay within timeout", args: []string{"sleep", "3600", "--term-delay", "200ms"}, timeout: 10, code: 0, minWait: 200 * time.Millisecond},
		{name: "ignore term killed at timeout", args: []string{"pause", "--ignore-term"}, timeout: 1, code: 137, minWait: time.Second},
		{name: "timeout zero kills", args: []string{"pause"}, timeout: 0, code: 137},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := e.run(sb, "c"+string(rune('a'+i)), behavior.TestImage, []string{"/ckimage"}, tc.args)
			begin := time.Now()
			if _, err := e.rt.StopContainer(e.ctx, &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: tc.timeout}); err != nil {
				t.Fatal(err)
			}
			if st := e.status(id); st.ExitCode != tc.code || st.State != runtimeapi.ContainerState_CONTAINER_EXITED {
				t.Fatalf("status %+v; want code %d", st, tc.code)
			}
			if d := time.Since(begin); d < tc.minWait {
				t.Fatalf("stop took %s; want at least %s", d, tc.minWait)
			}
		})
	}
}

func TestImagesAndGenericContainers(t *testing.T) {
	e := start(t, simruntime.Options{ImageFailures: map[string]simruntime.ImageFailure{
		"example.com/missing":   simruntime.PullNotFound,
		"example.com/broken:v1": simruntime.StartError,
	}})
	if st, err := e.img.ImageStatus(e.ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: "busybox"}}); err != nil || st.Image != nil {
		t.Fatalf("busybox present before pull: %+v %v", st, err)
	}
	pulled, err := e.img.PullImage(e.ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: "busybox"}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := e.img.ImageStatus(e.ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: "docker.io/library/busybox:latest"}})
	if err != nil || st.Image == nil || st.Image.Id != pulled.ImageRef {
		t.Fatalf("busybox after pull: %+v %v", st, err)
	}
	if _, err := e.img.PullImage(e.ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: "example.com/missing:v2"}}); status.Code(err) != codes.NotFound {
		t.Fatalf("pull missing: %v; want NotFound", err)
	}
	sb, _ := e.sandbox("generic")
	long := e.run(sb, "long", "busybox", nil, []string{"sleep", "infinity"})
	script := e.run(sb, "script", "busybox", []string{"sh", "-c", "echo hi; exit 4"}, nil)
	if st := e.waitExited(script); st.ExitCode != 4 {
		t.Fatalf("script: %+v", st)
	}
	if b, _ := os.ReadFile(e.status(script).LogPath); !strings.HasSuffix(string(b), " stdout F hi\n") {
		t.Fatalf("script log %q", b)
	}
	if e.status(long).State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		t.Fatal("sleep infinity not running")
	}
	if _, err := e.img.PullImage(e.ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: "example.com/broken:v1"}}); err != nil {
		t.Fatal(err)
	}
	broken := e.create(sb, "broken", "example.com/broken:v1", nil, nil)
	if _, err := e.rt.StartContainer(e.ctx, &runtimeapi.StartContainerRequest{ContainerId: broken}); err == nil {
		t.Fatal("start of StartError image succeeded")
	}
	if st := e.status(broken); st.Reason != "StartError" || st.ExitCode != 128 {
		t.Fatalf("broken: %+v", st)
	}
	if _, err := e.rt.CreateContainer(e.ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb, Config: &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "nope"}, Image: &runtimeapi.ImageSpec{Image: "never/pulled"}}}); status.Code(err) != codes.NotFound {
		t.Fatalf("create with unpulled image: %v", err)
	}
}

func TestListFiltersAndIdempotentRemoval(t *testing.T) {
	e := start(t, simruntime.Options{})
	sbA, _ := e.sandbox("a")
	sbB, _ := e.sandbox("b")
	ca := e.run(sbA, "x", behavior.TestImage, nil, nil)
	e.create(sbB, "y", behavior.TestImage, nil, nil)
	list := func(f *runtimeapi.ContainerFilter) int {
		r, err := e.rt.ListContainers(e.ctx, &runtimeapi.ListContainersRequest{Filter: f})
		if err != nil {
			t.Fatal(err)
		}
		return len(r.Containers)
	}
	cases := []struct {
		name string
		f    *runtimeapi.ContainerFilter
		want int
	}{
		{"all", nil, 2},
		{"by sandbox", &runtimeapi.ContainerFilter{PodSandboxId: sbA}, 1},
		{"by state running", &runtimeapi.ContainerFilter{State: &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING}}, 1},
		{"by label", &runtimeapi.ContainerFilter{LabelSelector: map[string]string{"container": "y"}}, 1},
		{"by id prefix", &runtimeapi.ContainerFilter{Id: ca[:12]}, 1},
		{"no match", &runtimeapi.ContainerFilter{LabelSelector: map[string]string{"container": "z"}}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := list(tc.f); got != tc.want {
				t.Fatalf("got %d containers; want %d", got, tc.want)
			}
		})
	}
	ps, err := e.rt.ListPodSandbox(e.ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{"app": "b"}}})
	if err != nil || len(ps.Items) != 1 || ps.Items[0].Id != sbB {
		t.Fatalf("sandbox label filter: %+v %v", ps, err)
	}
	for range 2 {
		if _, err := e.rt.StopPodSandbox(e.ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sbA}); err != nil {
			t.Fatalf("StopPodSandbox: %v", err)
		}
	}
	if st := e.status(ca); st.State != runtimeapi.ContainerState_CONTAINER_EXITED || st.ExitCode != 137 {
		t.Fatalf("container of stopped sandbox: %+v", st)
	}
	for range 2 {
		if _, err := e.rt.RemovePodSandbox(e.ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sbA}); err != nil {
			t.Fatalf("RemovePodSandbox: %v", err)
		}
	}
	if got := list(nil); got != 1 {
		t.Fatalf("after removing sandbox a: %d containers", got)
	}
	if _, err := e.rt.StopPodSandbox(e.ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: "unknown"}); err != nil {
		t.Fatalf("stop unknown sandbox: %v", err)
	}
	if u := e.sim.Usage(); u.Sandboxes != 1 || u.Containers != 1 {
		t.Fatalf("usage %+v", u)
	}
}

func TestExecStreaming(t *testing.T) {
	e := start(t, simruntime.Options{})
	sb, _ := e.sandbox("exec")
	id := e.run(sb, "c", behavior.TestImage, nil, nil)
	cases := []struct {
		name   string
		cmd    []string
		stdout string
		code   int
	}{
		{"echo", []string{"ckimage", "echo", "hello"}, "hello\n", 0},
		{"exit code", []string{"ckimage", "exit", "--code", "6"}, "", 6},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := e.rt.Exec(e.ctx, &runtimeapi.ExecRequest{ContainerId: id, Cmd: tc.cmd, Stdout: true, Stderr: true})
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(resp.Url)
			ex, err := remotecommand.NewSPDYExecutor(&rest.Config{Host: u.Host}, http.MethodPost, u)
			if err != nil {
				t.Fatal(err)
			}
			var out, errb bytes.Buffer
			err = ex.StreamWithContext(e.ctx, remotecommand.StreamOptions{Stdout: &out, Stderr: &errb})
			code := 0
			if ce, ok := err.(interface{ ExitStatus() int }); ok {
				code = ce.ExitStatus()
			} else if err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.stdout || code != tc.code {
				t.Fatalf("stdout %q code %d; want %q %d", out.String(), code, tc.stdout, tc.code)
			}
		})
	}
}

func TestManyPods(t *testing.T) {
	e := start(t, simruntime.Options{})
	const n = 300
	ips := make([]string, n)
	for i := range n {
		sb, ip := e.sandbox(fmt.Sprintf("p%d", i))
		ips[i] = ip
		e.run(sb, "web", behavior.TestImage, nil, []string{"serve-hostname"})
	}
	if u := e.sim.Usage(); u.ReadySandboxes != n || u.RunningContainers != n {
		t.Fatalf("usage %+v", u)
	}
	seen := map[string]bool{}
	for _, ip := range ips {
		if seen[ip] {
			t.Fatalf("pod IP %s handed out twice", ip)
		}
		seen[ip] = true
	}
	for _, i := range []int{0, n / 2, n - 1} {
		if code, body := httpGet(t, "http://"+ips[i]+":8080/"); code != 200 || body != fmt.Sprintf("p%d", i) {
			t.Fatalf("pod %d: %d %q", i, code, body)
		}
	}
}

func TestWebServerImageAndHostPort(t *testing.T) {
	e := start(t, simruntime.Options{HostIP: "127.0.0.1"})
	if _, err := e.img.PullImage(e.ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: "nginx:1.27"}}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0") // find a free host port
	if err != nil {
		t.Fatal(err)
	}
	hostPort := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	resp, err := e.rt.RunPodSandbox(e.ctx, &runtimeapi.RunPodSandboxRequest{Config: &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: "nginx", Namespace: "default", Uid: "nginx-uid"},
		Hostname:     "nginx",
		PortMappings: []*runtimeapi.PortMapping{{Protocol: runtimeapi.Protocol_TCP, ContainerPort: 80, HostPort: int32(hostPort)}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := e.rt.PodSandboxStatus(e.ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: resp.PodSandboxId})
	if err != nil {
		t.Fatal(err)
	}
	id := e.run(resp.PodSandboxId, "nginx", "nginx:1.27", nil, nil)
	for _, u := range []string{"http://" + st.Status.Network.Ip + ":80/", fmt.Sprintf("http://127.0.0.1:%d/", hostPort)} {
		if code, _ := httpGet(t, u); code != 200 {
			t.Fatalf("GET %s = %d", u, code)
		}
	}
	if _, err := e.rt.StopContainer(e.ctx, &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: 10}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", hostPort)); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("host port still served after stop")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestOverlappingSubnetsNeverShareAnIP: two runtimes given the same pod
// subnet (as two processes might be) hand out different pod IPs, and both
// pods serve on the same port.
func TestOverlappingSubnetsNeverShareAnIP(t *testing.T) {
	subnet := simruntime.NodeSubnet(900)
	a := start(t, simruntime.Options{PodSubnet: subnet})
	b := start(t, simruntime.Options{PodSubnet: subnet})
	_, ipA := a.sandbox("a")
	sbB, ipB := b.sandbox("b")
	if ipA == ipB {
		t.Fatalf("both runtimes handed out %s", ipA)
	}
	id := b.run(sbB, "web", "clusterkit.local/ckimage:v1", nil, []string{"serve-hostname", "--port", "8080"})
	if st := b.status(id); st.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		t.Fatalf("the second runtime's server is %s: %s", st.State, st.Message)
	}
}
