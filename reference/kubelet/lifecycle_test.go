package kubelet

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

func lifecycleWorker(t *testing.T) *podWorker {
	k := &Kubelet{cfg: Config{RootDir: t.TempDir(), NodeIP: "127.0.0.1", Clock: clocktesting.NewFakeClock(time.Unix(5000, 0))}, rtName: "fake"}
	return newPodWorker(k, &corev1.Pod{}, false)
}

func exitedWithMessage(t *testing.T, id, content string, code int32, policy corev1.TerminationMessagePolicy, logLines []string) *runtimeapi.ContainerStatus {
	dir := t.TempDir()
	file := filepath.Join(dir, "termination-log")
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "0.log")
	var b strings.Builder
	for _, l := range logLines {
		fmt.Fprintf(&b, "2026-01-01T00:00:00.000000000Z stdout F %s\n", l)
	}
	if err := os.WriteFile(logPath, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return &runtimeapi.ContainerStatus{
		Id: id, State: runtimeapi.ContainerState_CONTAINER_EXITED, ExitCode: code, LogPath: logPath,
		Annotations: map[string]string{AnnotTermMessagePath: "/dev/termination-log", AnnotTermMessagePolicy: string(policy)},
		Mounts:      []*runtimeapi.Mount{{ContainerPath: "/dev/termination-log", HostPath: file}},
	}
}

func TestTerminationMessageLimits(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}}}
	c := &pod.Spec.Containers[0]

	t.Run("the file's last 4096 bytes", func(t *testing.T) {
		w := lifecycleWorker(t)
		big := strings.Repeat("a", 1000) + strings.Repeat("b", maxTerminationMessage)
		got := w.terminatedState(pod, c, exitedWithMessage(t, "1", big, 1, corev1.TerminationMessageReadFile, nil)).Message
		if got != strings.Repeat("b", maxTerminationMessage) {
			t.Errorf("message of %d bytes, want the last %d", len(got), maxTerminationMessage)
		}
	})
	t.Run("12 KiB across the pod", func(t *testing.T) {
		w := lifecycleWorker(t)
		many := &corev1.Pod{Spec: corev1.PodSpec{Containers: make([]corev1.Container, 4), InitContainers: make([]corev1.Container, 2)}}
		got := w.terminatedState(many, c, exitedWithMessage(t, "2", strings.Repeat("x", 4000), 1, corev1.TerminationMessageReadFile, nil)).Message
		if want := maxPodTerminationMessages / 6; len(got) != want {
			t.Errorf("message of %d bytes in a pod of 6 containers, want %d", len(got), want)
		}
	})
	t.Run("log fallback: the start of the last 80 lines, at most 2048 bytes", func(t *testing.T) {
		w := lifecycleWorker(t)
		var lines []string
		for i := 1; i <= 100; i++ {
			lines = append(lines, fmt.Sprintf("line %03d", i))
		}
		got := w.terminatedState(pod, c, exitedWithMessage(t, "3", "", 2, corev1.TerminationMessageFallbackToLogsOnError, lines)).Message
		if !strings.HasPrefix(got, "line 021\n") || !strings.HasSuffix(got, "line 100\n") {
			t.Errorf("log fallback %q..., want lines 21 to 100", got[:min(len(got), 20)])
		}
		long := []string{strings.Repeat("y", 3000)}
		got = w.terminatedState(pod, c, exitedWithMessage(t, "4", "", 2, corev1.TerminationMessageFallbackToLogsOnError, long)).Message
		if len(got) != maxTerminationMessageLogBytes {
			t.Errorf("log fallback of %d bytes, want %d", len(got), maxTerminationMessageLogBytes)
		}
	})
	t.Run("no log fallback on success or with a message file", func(t *testing.T) {
		w := lifecycleWorker(t)
		if got := w.terminatedState(pod, c, exitedWithMessage(t, "5", "", 0, corev1.TerminationMessageFallbackToLogsOnError, []string{"hi"})).Message; got != "" {
			t.Errorf("success: message %q, want none", got)
		}
		if got := w.terminatedState(pod, c, exitedWithMessage(t, "6", "file", 1, corev1.TerminationMessageFallbackToLogsOnError, []string{"log"})).Message; got != "file" {
			t.Errorf("message %q, want the file's", got)
		}
		if got := w.terminatedState(pod, c, exitedWithMessage(t, "7", "", 1, corev1.TerminationMessageReadFile, []string{"log"})).Message; got != "" {
			t.Errorf("policy File: message %q, want none", got)
		}
	})
}

func TestInitProgress(t *testing.T) {
	exited := func(code int32) *history {
		return &history{latest: &runtimeapi.ContainerStatus{Id: "x", State: runtimeapi.ContainerState_CONTAINER_EXITED, ExitCode: code}}
	}
	running := &history{latest: &runtimeapi.ContainerStatus{Id: "r", State: runtimeapi.ContainerState_CONTAINER_RUNNING}}
	pod := func(policy corev1.RestartPolicy) *corev1.Pod {
		return &corev1.Pod{Spec: corev1.PodSpec{
			RestartPolicy: policy,
			InitContainers: []corev1.Container{
				{Name: "side", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)},
				{Name: "a"}, {Name: "b"},
			},
			Containers: []corev1.Container{{Name: "app"}},
		}}
	}
	cases := []struct {
		name         string
		policy       corev1.RestartPolicy
		view         map[string]*history
		done, failed bool
		incomplete   string
	}{
		{"nothing yet", corev1.RestartPolicyAlways, map[string]*history{}, false, false, "side a b"},
		{"sidecar up, a runs", corev1.RestartPolicyAlways, map[string]*history{"side": running, "a": running}, false, false, "a b"},
		{"a failed, Always", corev1.RestartPolicyAlways, map[string]*history{"side": running, "a": exited(1)}, false, false, "a b"},
		{"a failed, Never", corev1.RestartPolicyNever, map[string]*history{"side": running, "a": exited(1)}, false, true, "a b"},
		{"all done", corev1.RestartPolicyNever, map[string]*history{"side": running, "a": exited(0), "b": exited(0)}, true, false, ""},
		{"app exists (kubelet restarted)", corev1.RestartPolicyAlways, map[string]*history{"app": running, "side": running}, true, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := lifecycleWorker(t)
			p := w.initProgress(pod(tc.policy), tc.view)
			if p.done != tc.done || p.failed != tc.failed || strings.Join(p.incomplete, " ") != tc.incomplete {
				t.Errorf("got done=%v failed=%v incomplete=%q, want %v %v %q", p.done, p.failed, p.incomplete, tc.done, tc.failed, tc.incomplete)
			}
		})
	}
}

func TestHTTPGetURLKeepsQuery(t *testing.T) {
	for path, want := range map[string]string{
		"/echo?msg=startup": "http://10.0.0.1:8080/echo?msg=startup",
		"/dial?host=10.0.0.2&port=8080&request=echo%3Fmsg%3Dpoststart": "http://10.0.0.1:8080/dial?host=10.0.0.2&port=8080&request=echo%3Fmsg%3Dpoststart",
		"healthz": "http://10.0.0.1:8080/healthz",
		"":        "http://10.0.0.1:8080",
	} {
		if got := httpGetURL("http", "10.0.0.1", 8080, path).String(); got != want {
			t.Errorf("path %q: %s, want %s", path, got, want)
		}
	}
}

// TestInitProgressAfterSandboxRecreation: once the pod's sandbox was recreated, containers of
// the old sandbox no longer count: the pod is not initialized until its init containers have
// completed again in the new one (as the kubelet's computePodActions starts over).
func TestInitProgressAfterSandboxRecreation(t *testing.T) {
	in := func(sandbox string, state runtimeapi.ContainerState) *history {
		return &history{sandboxID: sandbox, latest: &runtimeapi.ContainerStatus{Id: sandbox + "-x", State: state}}
	}
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		RestartPolicy:  corev1.RestartPolicyAlways,
		InitContainers: []corev1.Container{{Name: "a"}, {Name: "b"}},
		Containers:     []corev1.Container{{Name: "app"}},
	}}
	old := map[string]*history{
		"a": in("old", runtimeapi.ContainerState_CONTAINER_EXITED), "b": in("old", runtimeapi.ContainerState_CONTAINER_EXITED),
		"app": in("old", runtimeapi.ContainerState_CONTAINER_EXITED),
	}
	w := lifecycleWorker(t)
	w.sandboxID = "old"
	if p := w.initProgress(pod, old); !p.done {
		t.Fatalf("in the sandbox it ran in, the pod is initialized: %+v", p)
	}
	w.sandboxID = "new"
	if p := w.initProgress(pod, old); p.done || strings.Join(p.incomplete, " ") != "a b" {
		t.Fatalf("after the sandbox was recreated: got done=%v incomplete=%q, want not done, a b", p.done, p.incomplete)
	}
	again := map[string]*history{"a": in("new", runtimeapi.ContainerState_CONTAINER_EXITED), "b": old["b"], "app": old["app"]}
	if p := w.initProgress(pod, again); p.done || strings.Join(p.incomplete, " ") != "b" {
		t.Fatalf("a done again in the new sandbox: got done=%v incomplete=%q, want b", p.done, p.incomplete)
	}
}
