package tables

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clusterkit/clusterkit/conformance/upstream/kubectltest"
	"github.com/clusterkit/clusterkit/version"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestKubectlGetPrintsTable serves a pod list as a Table to the installed
// kubectl and checks the printed columns, including -o wide and -A. It needs
// a kubectl binary, so it runs only when CLUSTERKIT_KUBECTL_E2E=1.
func TestKubectlGetPrintsTable(t *testing.T) {
	if os.Getenv("CLUSTERKIT_KUBECTL_E2E") != "1" {
		t.Skip("set CLUSTERKIT_KUBECTL_E2E=1 to run kubectl against the tables")
	}
	kubectl := kubectltest.Path(t)
	now := time.Now()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "crash", Namespace: "prod", CreationTimestamp: metav1.NewTime(now.Add(-10 * time.Minute))},
		Spec:       corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "app"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIPs: []corev1.PodIP{{IP: "10.0.0.7"}}, ContainerStatuses: []corev1.ContainerStatus{{
			Name: "app", RestartCount: 5,
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, FinishedAt: metav1.NewTime(now.Add(-2 * time.Minute))}},
		}}},
	}
	serveTable := func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept"), "as=Table") {
			http.Error(w, "table expected", http.StatusNotAcceptable)
			return
		}
		table, err := Table(corev1.SchemeGroupVersion.WithKind("Pod"), []runtime.Object{pod}, time.Now())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		table.ResourceVersion = "5"
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(table)
	}
	mux := http.NewServeMux()
	writeJSON := func(w http.ResponseWriter, v interface{}) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("/version", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]string{"major": "1", "minor": version.Get().Minor, "gitVersion": version.Get().GitVersion})
	})
	mux.HandleFunc("/api", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, &metav1.APIVersions{TypeMeta: metav1.TypeMeta{Kind: "APIVersions"}, Versions: []string{"v1"}})
	})
	mux.HandleFunc("/apis", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, &metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}})
	})
	mux.HandleFunc("/api/v1", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, &metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: "v1",
			APIResources: []metav1.APIResource{{Name: "pods", Namespaced: true, Kind: "Pod", Verbs: metav1.Verbs{"get", "list"}}}})
	})
	mux.HandleFunc("/api/v1/pods", serveTable)
	mux.HandleFunc("/api/v1/namespaces/prod/pods", serveTable)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	dir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		base := []string{"--server", srv.URL, "--cache-dir", filepath.Join(dir, "cache")}
		cmd := exec.Command(kubectl, append(base, args...)...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+filepath.Join(dir, "none"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	tests := []struct {
		name string
		args []string
		want [][]string // header fields, then row fields
	}{
		{"default", []string{"get", "pods", "-n", "prod"}, [][]string{
			{"NAME", "READY", "STATUS", "RESTARTS", "AGE"},
			{"crash", "0/1", "CrashLoopBackOff", "5", "(2m", "ago)", "10m"}}},
		{"wide", []string{"get", "pods", "-n", "prod", "-o", "wide"}, [][]string{
			{"NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED", "NODE", "READINESS", "GATES"},
			{"crash", "0/1", "CrashLoopBackOff", "5", "(2m", "ago)", "10m", "10.0.0.7", "node-1", "<none>", "<none>"}}},
		{"all namespaces", []string{"get", "pods", "-A"}, [][]string{
			{"NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"},
			{"prod", "crash", "0/1", "CrashLoopBackOff", "5", "(2m", "ago)", "10m"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := run(tc.args...)
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("output:\n%s", out)
			}
			for i, want := range tc.want {
				// The restart age is printed with seconds when the test runs slowly ("(2m1s ago)").
				got := strings.Fields(lines[i])
				for j := range got {
					if j < len(want) && want[j] == "(2m" && strings.HasPrefix(got[j], "(2m") {
						got[j] = "(2m"
					}
				}
				if strings.Join(got, " ") != strings.Join(want, " ") {
					t.Errorf("line %d = %q, want %q", i, got, want)
				}
			}
		})
	}
}
