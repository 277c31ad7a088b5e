package openapi

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/clusterkit/clusterkit/conformance/upstream/kubectltest"
	"github.com/clusterkit/clusterkit/version"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestKubectlAgainstDocuments runs the installed kubectl against a minimal
// server (legacy discovery + these documents + a deployments endpoint) and
// checks that `kubectl explain` reads the schemas and `kubectl apply` (default
// --validate=strict) finds fieldValidation support and sends
// fieldValidation=Strict. It needs a kubectl binary, so it runs only when
// CLUSTERKIT_KUBECTL_E2E=1.
func TestKubectlAgainstDocuments(t *testing.T) {
	if os.Getenv("CLUSTERKIT_KUBECTL_E2E") != "1" {
		t.Skip("set CLUSTERKIT_KUBECTL_E2E=1 to run kubectl against the documents")
	}
	kubectl := kubectltest.Path(t)
	d := mustNew(t)

	var mu sync.Mutex
	var createQueries []string
	mux := http.NewServeMux()
	writeJSON := func(w http.ResponseWriter, v interface{}) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("/version", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]string{"major": "1", "minor": version.Get().Minor, "gitVersion": version.Get().GitVersion, "platform": "linux/amd64"})
	})
	mux.HandleFunc("/api", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, &metav1.APIVersions{TypeMeta: metav1.TypeMeta{Kind: "APIVersions"}, Versions: []string{"v1"}})
	})
	mux.HandleFunc("/apis", func(w http.ResponseWriter, r *http.Request) {
		gv := metav1.GroupVersionForDiscovery{GroupVersion: "apps/v1", Version: "v1"}
		writeJSON(w, &metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"},
			Groups: []metav1.APIGroup{{Name: "apps", Versions: []metav1.GroupVersionForDiscovery{gv}, PreferredVersion: gv}}})
	})
	mux.HandleFunc("/api/v1", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, &metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: "v1",
			APIResources: []metav1.APIResource{{Name: "pods", Namespaced: true, Kind: "Pod", Verbs: metav1.Verbs{"get", "list", "create", "patch"}}}})
	})
	mux.HandleFunc("/apis/apps/v1", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, &metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: "apps/v1",
			APIResources: []metav1.APIResource{{Name: "deployments", Namespaced: true, Kind: "Deployment", Verbs: metav1.Verbs{"get", "list", "create", "patch"}}}})
	})
	mux.HandleFunc("/apis/apps/v1/namespaces/default/deployments/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(&metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusFailure,
			Reason: metav1.StatusReasonNotFound, Code: http.StatusNotFound, Message: "not found"})
	})
	mux.HandleFunc("/apis/apps/v1/namespaces/default/deployments", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		createQueries = append(createQueries, r.URL.RawQuery)
		mu.Unlock()
		var dep appsv1.Deployment
		_ = json.Unmarshal(body, &dep)
		dep.APIVersion, dep.Kind = "apps/v1", "Deployment"
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(&dep)
	})
	mux.Handle("/openapi/v3", d.Handler())
	mux.Handle("/openapi/v3/", d.Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	dir := t.TempDir()
	run := func(args ...string) (string, error) {
		base := []string{"--server", srv.URL, "--cache-dir", filepath.Join(dir, "cache"), "--namespace", "default"}
		cmd := exec.Command(kubectl, append(base, args...)...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+filepath.Join(dir, "none"))
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	out, err := run("explain", "deployments.spec.template.spec.containers")
	if err != nil {
		t.Fatalf("kubectl explain: %v\n%s", err, out)
	}
	t.Logf("kubectl explain:\n%s", out)
	for _, want := range []string{"Container", "name", "-required-", "image"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain output lacks %q:\n%s", want, out)
		}
	}

	manifest := filepath.Join(dir, "dep.yaml")
	dep := appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}}},
		},
	}
	raw, _ := json.Marshal(&dep)
	if err := os.WriteFile(manifest, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = run("apply", "-f", manifest)
	if err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
	t.Logf("kubectl apply: %s", out)
	mu.Lock()
	defer mu.Unlock()
	t.Logf("create queries: %v", createQueries)
	if len(createQueries) != 1 || !strings.Contains(createQueries[0], "fieldValidation=Strict") {
		t.Errorf("create queries %v, want one with fieldValidation=Strict (output %s)", createQueries, out)
	}
}
