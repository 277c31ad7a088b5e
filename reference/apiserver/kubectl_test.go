package apiserver_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/clusterkit/clusterkit/conformance/upstream/kubectltest"
	"github.com/clusterkit/clusterkit/reference/apiserver"
)

const deploymentYAML = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        ports:
        - containerPort: 80
      - name: sidecar
        image: busybox:1.36
        command: ["sleep", "infinity"]
`

// kubectlRunner runs the real kubectl against a test server with its own kubeconfig and cache.
type kubectlRunner struct {
	t          *testing.T
	path       string // kubectl of the Kubernetes version the server reports (kubectltest)
	kubeconfig string
	cacheDir   string
}

func newKubectl(t *testing.T, ts *testServer) *kubectlRunner {
	t.Helper()
	dir := t.TempDir()
	k := &kubectlRunner{t: t, path: kubectltest.Path(t), kubeconfig: filepath.Join(dir, "kubeconfig"), cacheDir: filepath.Join(dir, "cache")}
	if err := apiserver.WriteKubeconfig(k.kubeconfig, ts.http.URL); err != nil {
		t.Fatal(err)
	}
	return k
}

func (k *kubectlRunner) run(stdin string, args ...string) (string, error) {
	k.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	full := append([]string{"--kubeconfig", k.kubeconfig, "--cache-dir", k.cacheDir}, args...)
	cmd := exec.CommandContext(ctx, k.path, full...)
	cmd.Env = append(os.Environ(), "HOME="+filepath.Dir(k.kubeconfig), "KUBECONFIG="+k.kubeconfig)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	k.t.Logf("$ kubectl %s\n%s", strings.Join(args, " "), out)
	return string(out), err
}

func (k *kubectlRunner) mustRun(stdin string, args ...string) string {
	k.t.Helper()
	out, err := k.run(stdin, args...)
	if err != nil {
		k.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// waitEstablished waits, as `kubectl wait --for condition=established` does, until the CRD is
// Established. Until the naming controller has written the first condition, status.conditions is
// null — on kube-apiserver too — and kubectl wait then fails at once with ".status.conditions
// accessor error: <nil> is of the type <nil>" (kubernetes/kubernetes#66439): that answer is
// asked again, as users' scripts do.
func (k *kubectlRunner) waitEstablished(crd string) {
	k.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := k.run("", "wait", "--for", "condition=established", "--timeout", "20s", "crd/"+crd)
		if err == nil {
			return
		}
		if !strings.Contains(out, ".status.conditions accessor error: <nil>") || time.Now().After(deadline) {
			k.t.Fatalf("kubectl wait --for condition=established crd/%s: %v\n%s", crd, err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestKubectlEndToEnd(t *testing.T) {
	ts := newTestServer(t)
	k := newKubectl(t, ts)
	ctx := ctxT(t)

	out := k.mustRun(deploymentYAML, "apply", "-f", "-")
	if !strings.Contains(out, "deployment.apps/web created") {
		t.Fatalf("apply create output: %q", out)
	}
	changed := strings.Replace(deploymentYAML, "nginx:1.27", "nginx:1.28", 1)
	out = k.mustRun(changed, "apply", "-f", "-")
	if !strings.Contains(out, "deployment.apps/web configured") {
		t.Fatalf("apply update output: %q", out)
	}
	d, err := ts.client.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Spec.Template.Spec.Containers) != 2 || d.Spec.Template.Spec.Containers[0].Image != "nginx:1.28" {
		t.Fatalf("containers after re-apply: %+v", d.Spec.Template.Spec.Containers)
	}
	if d.Generation != 2 {
		t.Errorf("generation after spec change = %d, want 2", d.Generation)
	}

	out = k.mustRun("", "get", "deployments", "-o", "wide")
	for _, want := range []string{"NAME", "READY", "UP-TO-DATE", "CONTAINERS", "IMAGES", "SELECTOR", "web", "nginx:1.28"} {
		if !strings.Contains(out, want) {
			t.Errorf("get -o wide: missing %q in\n%s", want, out)
		}
	}
	out = k.mustRun("", "get", "namespaces")
	if !strings.Contains(out, "kube-system") || !strings.Contains(out, "Active") {
		t.Errorf("get namespaces:\n%s", out)
	}
	out = k.mustRun("", "get", "deploy", "-A")
	if !strings.Contains(out, "NAMESPACE") || !strings.Contains(out, "default") {
		t.Errorf("get -A:\n%s", out)
	}
	out = k.mustRun("", "scale", "deployment/web", "--replicas=5")
	if !strings.Contains(out, "scaled") {
		t.Errorf("scale output: %q", out)
	}
	d, err = ts.client.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil || *d.Spec.Replicas != 5 {
		t.Fatalf("replicas after scale: %v %v", d, err)
	}
	out = k.mustRun("", "get", "all")
	if !strings.Contains(out, "deployment.apps/web") {
		t.Errorf("get all:\n%s", out)
	}
	// Strict field validation through kubectl's default --validate=strict.
	bad := strings.Replace(deploymentYAML, "replicas: 2", "replicas: 2\n  replicaz: 3", 1)
	if out, err := k.run(bad, "apply", "-f", "-"); err == nil || !strings.Contains(out, "replicaz") {
		t.Errorf("apply with unknown field: err=%v out=%q", err, out)
	}
	out = k.mustRun("", "delete", "deployment", "web")
	if !strings.Contains(out, `deployment.apps "web" deleted`) {
		t.Errorf("delete output: %q", out)
	}
	out, err = k.run("", "get", "deployment", "web")
	if err == nil || !strings.Contains(out, "NotFound") {
		t.Errorf("get after delete: err=%v out=%q", err, out)
	}
}
