package containerd_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/clusterkit/clusterkit/cri/client"
	"github.com/clusterkit/clusterkit/cri/containerd"
	"github.com/clusterkit/clusterkit/cri/images"
	"github.com/clusterkit/clusterkit/cri/registry"
	"github.com/clusterkit/clusterkit/cri/testimage/behavior"
)

// TestRealContainers runs the test image on a private containerd: it
// serves HTTP with its hostname at its pod IP on the instance's own bridge,
// exits with the requested code, and pulls through a loopback registry.
func TestRealContainers(t *testing.T) {
	if err := containerd.Available(); err != nil {
		t.Skipf("real containers unavailable: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	imgs, err := images.BuildAll(ctx, images.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var archive bytes.Buffer
	if err := images.WriteOCIArchive(&archive, imgs); err != nil {
		t.Fatal(err)
	}

	dir, err := os.MkdirTemp("", "ckctrd")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	var rb [2]byte
	_, _ = rand.Read(rb[:])
	cfg := containerd.Config{Dir: dir, Bridge: "ckt" + hex.EncodeToString(rb[:]), Subnet: fmt.Sprintf("10.88.%d.0/24", 100+int(rb[0])%100)}
	begin := time.Now()
	inst, err := containerd.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("containerd ready in %s", time.Since(begin))
	if pg, err := syscall.Getpgid(inst.PID()); err != nil || pg == syscall.Getpgrp() {
		t.Errorf("containerd's process group is %d (%v), ours is %d: Ctrl-C in a terminal would kill it before Stop removes its pods", pg, err, syscall.Getpgrp())
	}
	defer func() {
		if err := inst.Stop(context.Background()); err != nil {
			t.Errorf("Stop: %v", err)
		}
		if out, _ := os.ReadFile("/proc/net/dev"); strings.Contains(string(out), cfg.Bridge+":") {
			t.Errorf("bridge %s left behind", cfg.Bridge)
		}
	}()
	names, err := inst.Import(ctx, &archive)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, ",") != behavior.TestImage+","+behavior.PauseImage {
		t.Fatalf("imported %q", names)
	}

	conn, err := client.New(inst.Endpoint()).Raw()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rt := conn.Runtime

	logDir := filepath.Join(dir, "pods", "web")
	sb, err := rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: "web", Namespace: "default", Uid: "web-uid"},
		Hostname:     "web",
		LogDirectory: logDir,
		Linux: &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_POD, Pid: runtimeapi.NamespaceMode_CONTAINER, Ipc: runtimeapi.NamespaceMode_POD},
		}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	sst, err := rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: sb.PodSandboxId})
	if err != nil {
		t.Fatal(err)
	}
	ip := sst.Status.Network.Ip
	if !strings.HasPrefix(ip, strings.TrimSuffix(cfg.Subnet, "0/24")) {
		t.Fatalf("pod IP %q not in %s", ip, cfg.Subnet)
	}
	sbCfg := &runtimeapi.PodSandboxConfig{Metadata: &runtimeapi.PodSandboxMetadata{Name: "web", Namespace: "default", Uid: "web-uid"}, LogDirectory: logDir}
	run := func(name string, image string, args ...string) string {
		t.Helper()
		c, err := rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb.PodSandboxId, SandboxConfig: sbCfg, Config: &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: name},
			Image:    &runtimeapi.ImageSpec{Image: image},
			Args:     args,
			LogPath:  name + ".log",
		}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: c.ContainerId}); err != nil {
			t.Fatal(err)
		}
		return c.ContainerId
	}

	web := run("serve", behavior.TestImage, "serve-hostname", "--port", "8080")
	var body string
	for {
		resp, err := http.Get("http://" + ip + ":8080/")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("pod never served HTTP: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if body != "web" {
		t.Fatalf("GET / = %q; want the hostname web", body)
	}
	ex, err := rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: web, Cmd: []string{"ckimage", "healthz", "--port", "8080"}, Timeout: 10})
	if err != nil || ex.ExitCode != 0 {
		t.Fatalf("exec healthz: %+v %v", ex, err)
	}

	exit := run("exit", behavior.TestImage, "exit", "--code", "3", "--after", "200ms")
	st := waitExited(ctx, t, rt, exit)
	if st.ExitCode != 3 || st.Reason != "Error" {
		t.Fatalf("exit container: code %d reason %q", st.ExitCode, st.Reason)
	}
	logb, err := os.ReadFile(filepath.Join(logDir, "exit.log"))
	if err != nil || !strings.Contains(string(logb), " stdout F exiting with code 3 after 200ms") {
		t.Fatalf("log %q %v", logb, err)
	}

	// The real pull path through a loopback registry.
	reg, err := registry.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	refs, err := reg.PushAll(ctx, imgs)
	if err != nil {
		t.Fatal(err)
	}
	if err := inst.AddRegistryHost(reg.Host()); err != nil {
		t.Fatal(err)
	}
	pulled, err := conn.Images.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: refs[behavior.TestImage]}})
	if err != nil {
		t.Fatalf("pull from loopback registry: %v", err)
	}
	ist, err := conn.Images.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: refs[behavior.TestImage]}})
	if err != nil || ist.Image == nil || ist.Image.Id != pulled.ImageRef {
		t.Fatalf("pulled image status %+v %v", ist, err)
	}
	fromReg := run("fromreg", refs[behavior.TestImage], "exit", "--code", "5")
	if st := waitExited(ctx, t, rt, fromReg); st.ExitCode != 5 {
		t.Fatalf("registry image container exit code %d", st.ExitCode)
	}
}

func waitExited(ctx context.Context, t *testing.T, rt runtimeapi.RuntimeServiceClient, id string) *runtimeapi.ContainerStatus {
	t.Helper()
	for {
		resp, err := rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status.State == runtimeapi.ContainerState_CONTAINER_EXITED {
			return resp.Status
		}
		if ctx.Err() != nil {
			t.Fatalf("container %s never exited", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
