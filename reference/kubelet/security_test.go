package kubelet_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/utils/exec"
	"k8s.io/utils/ptr"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/cri/testimage/behavior"
	"github.com/clusterkit/clusterkit/reference/kubelet/kubeletharness"
	"github.com/clusterkit/clusterkit/reference/kubelet/localnode"
)

// TestSecurityContextSimulatorMatchesContainerd runs the same pods on a
// containerd node and on a simulated node and compares what their
// containers observe of themselves (proc-status, pid1, a write to the
// root): the simulated runtime must model the security context as
// containerd applies it, not pretend.
func TestSecurityContextSimulatorMatchesContainerd(t *testing.T) {
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
	real, err := localnode.Start(ctx, rc, localnode.Config{Name: "real", Runtime: endpoint, Kubelet: kubeletharness.KubeletConfig(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	defer real.Close()
	sim, err := localnode.Start(ctx, rc, localnode.Config{Name: "sim", Kubelet: kubeletharness.KubeletConfig(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	client := kubernetes.NewForConfigOrDie(rc)
	defer func() {
		zero := int64(0)
		_ = client.CoreV1().Pods("default").DeleteCollection(context.Background(), metav1.DeleteOptions{GracePeriodSeconds: &zero}, metav1.ListOptions{})
		time.Sleep(time.Second)
	}()
	cases := []struct {
		name string
		sc   *corev1.SecurityContext
		psc  *corev1.PodSecurityContext
		pod  func(*corev1.PodSpec)
	}{
		{name: "default"},
		{name: "privileged", sc: &corev1.SecurityContext{Privileged: ptr.To(true)}},
		{name: "drop-all", sc: &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}},
		{name: "add-drop", sc: &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_ADMIN", "SYS_TIME"}, Drop: []corev1.Capability{"CHOWN", "KILL"}}}},
		{name: "user", sc: &corev1.SecurityContext{RunAsUser: ptr.To[int64](1000), RunAsGroup: ptr.To[int64](3000), AllowPrivilegeEscalation: ptr.To(false)},
			psc: &corev1.PodSecurityContext{FSGroup: ptr.To[int64](2000), SupplementalGroups: []int64{4000}}},
		{name: "nobody", sc: &corev1.SecurityContext{RunAsUser: ptr.To[int64](65534)}},
		{name: "readonly", sc: &corev1.SecurityContext{ReadOnlyRootFilesystem: ptr.To(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}},
		{name: "shared-pid", pod: func(s *corev1.PodSpec) { s.ShareProcessNamespace = ptr.To(true) }},
		{name: "host-pid", pod: func(s *corev1.PodSpec) { s.HostPID = true }},
	}
	observe := func(node, name string, c int) string {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%s", name, node), Namespace: "default"},
			Spec: corev1.PodSpec{NodeName: node, SecurityContext: cases[c].psc, Containers: []corev1.Container{{
				Name: "c", Image: conformance.DefaultTestImage, Command: []string{behavior.TestBinary}, SecurityContext: cases[c].sc,
			}}},
		}
		if cases[c].pod != nil {
			cases[c].pod(&pod.Spec)
		}
		if _, err := client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		for {
			p, err := client.CoreV1().Pods("default").Get(ctx, pod.Name, metav1.GetOptions{})
			if err == nil && p.Status.Phase == corev1.PodRunning {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("%s not Running: %+v", pod.Name, p.Status)
			}
			time.Sleep(100 * time.Millisecond)
		}
		var out strings.Builder
		for _, cmd := range [][]string{{"proc-status"}, {"pid1"}, {"touch", "/written"}} {
			o, e, code := execIn(ctx, t, rc, client, pod.Name, append([]string{behavior.TestBinary}, cmd...)...)
			fmt.Fprintf(&out, "%s → exit %d\n%s%s", cmd[0], code, o, e)
		}
		return out.String()
	}
	for i, c := range cases {
		got, want := observe("sim", c.name, i), observe("real", c.name, i)
		if c.name == "host-pid" {
			// The simulator reports this machine's pid 1; containerd's
			// container sees the same process, under the same name.
			got, want = strings.TrimSpace(got), strings.TrimSpace(want)
		}
		if got != want {
			t.Errorf("%s: the simulated container observes\n%s\ncontainerd's\n%s", c.name, got, want)
		}
	}
}

// execIn runs command in pod's container c through pods/exec.
func execIn(ctx context.Context, t *testing.T, rc *rest.Config, client kubernetes.Interface, pod string, command ...string) (string, string, int) {
	t.Helper()
	req := client.CoreV1().RESTClient().Post().Resource("pods").Namespace("default").Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: "c", Command: command, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	ex, err := remotecommand.NewWebSocketExecutor(rc, "GET", req.URL().String())
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &out, Stderr: &errOut})
	var exit utilexec.ExitError
	switch {
	case errors.As(err, &exit):
		return out.String(), errOut.String(), exit.ExitStatus()
	case err != nil:
		t.Fatalf("exec %v in %s: %v", command, pod, err)
	}
	return out.String(), errOut.String(), 0
}
