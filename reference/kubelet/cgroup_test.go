package kubelet_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/clusterkit/clusterkit/reference/kubelet/kubeletharness"
	"github.com/clusterkit/clusterkit/reference/kubelet/localnode"
)

// cgroupDir returns the directory of pid's cgroup for a v1 controller (or
// the unified v2 directory).
func cgroupDir(pid int, controller string) (string, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return "", err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		parts := strings.SplitN(s.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == controller {
				return filepath.Join("/sys/fs/cgroup", controller, parts[2]), nil
			}
		}
		if parts[0] == "0" && parts[1] == "" {
			return filepath.Join("/sys/fs/cgroup", parts[2]), nil
		}
	}
	return "", fmt.Errorf("no %s cgroup for pid %d", controller, pid)
}

// TestCgroupLimitsContainerd: a container's memory limit and CPU limit
// become its cgroup's limits on a real runtime.
func TestCgroupLimitsContainerd(t *testing.T) {
	if why := kubeletharness.ContainerdUnavailable(); why != "" {
		t.Skipf("real containers unavailable: %s", why)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	endpoint, stopCtrd, err := kubeletharness.StartContainerd(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stopCtrd()
	rc, stop, err := kubeletharness.StartCluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	node, err := localnode.Start(ctx, rc, localnode.Config{Name: "cg", Runtime: endpoint, Kubelet: kubeletharness.KubeletConfig(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	client := kubernetes.NewForConfigOrDie(rc)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "limited", Namespace: "default"},
		Spec: corev1.PodSpec{NodeName: "cg", Containers: []corev1.Container{{
			Name: "c", Image: "clusterkit.local/ckimage:v1", Command: []string{"/ckimage"}, Args: []string{"serve-hostname"},
			Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{
				corev1.ResourceMemory: resource.MustParse("64Mi"), corev1.ResourceCPU: resource.MustParse("250m"),
			}},
		}}},
	}
	if _, err := client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var id string
	for {
		p, err := client.CoreV1().Pods("default").Get(ctx, "limited", metav1.GetOptions{})
		if err == nil && p.Status.Phase == corev1.PodRunning {
			_, id, _ = strings.Cut(p.Status.ContainerStatuses[0].ContainerID, "://")
			break
		}
		if ctx.Err() != nil {
			t.Fatal("pod not Running")
		}
		time.Sleep(100 * time.Millisecond)
	}
	defer func() {
		zero := int64(0)
		_ = client.CoreV1().Pods("default").Delete(context.Background(), "limited", metav1.DeleteOptions{GracePeriodSeconds: &zero})
		time.Sleep(time.Second)
	}()
	st, err := node.Runtime().ContainerStatus(ctx, id, true)
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Pid int `json:"pid"`
	}
	if err := json.Unmarshal([]byte(st.Info["info"]), &info); err != nil || info.Pid == 0 {
		t.Fatalf("no pid in the verbose status (%v): %q", err, st.Info["info"])
	}
	read := func(controller, file string) int64 {
		dir, err := cgroupDir(info.Pid, controller)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		n, err := strconv.ParseInt(strings.Fields(string(b))[0], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if _, err := os.Stat("/sys/fs/cgroup/memory"); err != nil {
		t.Skip("cgroup v2 host: this test reads v1 files")
	}
	if got := read("memory", "memory.limit_in_bytes"); got != 64<<20 {
		t.Errorf("memory.limit_in_bytes = %d, want %d", got, 64<<20)
	}
	if got := read("cpu", "cpu.cfs_quota_us"); got != 25000 {
		t.Errorf("cpu.cfs_quota_us = %d, want 25000", got)
	}
	if got := read("cpu", "cpu.shares"); got != 256 {
		t.Errorf("cpu.shares = %d, want 256", got)
	}
}
