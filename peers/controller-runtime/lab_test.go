package controllerruntime_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"k8s.io/client-go/util/cert"

	"github.com/clusterkit/clusterkit/conformance/upstream/kubectltest"
	"github.com/clusterkit/clusterkit/cri/images"
	"github.com/clusterkit/clusterkit/kindlab"
)

const (
	webhookImage = "clusterkit.dev/crwebhook:v1"
)

// TestWebhookServerAndCRDOnLab does what an operator's install does, on a one-node lab, with
// kubectl of the lab's version (kubectltest): it loads a controller-runtime webhook server's image into the lab, runs it as
// a Deployment behind a Service with a serving certificate from a Secret, registers its
// mutating and validating webhooks by Service reference, and applies ConfigMaps through them;
// then it applies a CustomResourceDefinition with a structural schema, defaults, a CEL rule
// and two versions, and custom resources through both versions.
func TestWebhookServerAndCRDOnLab(t *testing.T) {
	if why := kindlab.Unavailable(); why != "" {
		fmt.Printf("skipping TestWebhookServerAndCRDOnLab: %s\n", why)
		t.Skip(why)
	}
	// kubectl of the lab's Kubernetes version (built from peers/e2e when not cached).
	kubectlPath := kubectltest.Path(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	dir := t.TempDir()
	start := time.Now()

	// The clusterkit binary (built in the main module, with its own dependencies) and the
	// webhook server's image.
	bin := filepath.Join(dir, "clusterkit")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/clusterkit")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building clusterkit: %v\n%s", err, out)
	}
	// The lab's own images, built in the main module too (as `lab create` would from there).
	labImages := filepath.Join(dir, "images.tar")
	build = exec.CommandContext(ctx, bin, "images", "build", "-o", labImages)
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the lab's images: %v\n%s", err, out)
	}
	t.Logf("clusterkit and the lab's images built (%s)", time.Since(start).Round(time.Second))
	// Static, and with the flags of this module's test build so its packages come from the
	// build cache (images.BuildBinary's -trimpath would compile all of controller-runtime anew).
	whBin := filepath.Join(dir, "crwebhook")
	build = exec.CommandContext(ctx, "go", "build", "-o", whBin, "./cmd/crwebhook")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the webhook server: %v\n%s", err, out)
	}
	t.Logf("webhook server built (%s)", time.Since(start).Round(time.Second))
	img, err := images.FromBinary(whBin, "crwebhook", nil)
	if err != nil {
		t.Fatal(err)
	}
	var archive bytes.Buffer
	if err := images.WriteOCIArchive(&archive, map[string]v1.Image{webhookImage: img}); err != nil {
		t.Fatal(err)
	}

	var rb [2]byte
	_, _ = rand.Read(rb[:])
	name := "ckcr-" + hex.EncodeToString(rb[:])
	lab, err := kindlab.Create(ctx, kindlab.Config{Name: name, Nodes: 1, Dir: filepath.Join(dir, "lab"), Binary: bin, ImageArchive: labImages,
		Progress: func(format string, args ...any) { t.Logf(format, args...) }})
	if err != nil {
		t.Fatalf("creating the lab: %v", err)
	}
	defer func() {
		if err := lab.Delete(context.Background(), io.Discard); err != nil {
			t.Errorf("deleting the lab: %v", err)
		}
	}()
	if err := lab.ImportImages(ctx, archive.Bytes(), t.Logf); err != nil {
		t.Fatal(err)
	}
	k := kubectl{t: t, path: kubectlPath, kubeconfig: lab.Kubeconfig, home: dir}

	// The webhook server: its certificate names the Service, as an operator's cert-manager
	// Certificate would.
	certPEM, keyPEM, err := cert.GenerateSelfSignedCertKey("crwebhook.crwebhook.svc", nil, []string{"crwebhook.crwebhook.svc", "crwebhook.crwebhook.svc.cluster.local"})
	if err != nil {
		t.Fatal(err)
	}
	k.must(ctx, "", "create", "namespace", "crwebhook")
	k.must(ctx, "", "label", "namespace", "crwebhook", "crwebhook=on")
	crt, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(crt, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	k.must(ctx, "", "-n", "crwebhook", "create", "secret", "tls", "crwebhook-cert", "--cert", crt, "--key", key)
	k.must(ctx, webhookServerYAML, "apply", "-f", "-")
	k.must(ctx, "", "-n", "crwebhook", "rollout", "status", "deployment/crwebhook", "--timeout=180s")
	caBundle := base64.StdEncoding.EncodeToString(certPEM)
	k.must(ctx, strings.ReplaceAll(webhookConfigsYAML, "CABUNDLE", caBundle), "apply", "-f", "-")

	// A ConfigMap applied in the selected namespace is labelled by the mutating webhook and
	// checked by the validating one (whose warning kubectl prints); the configurations take
	// effect within seconds.
	var out string
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; ; i++ {
		k.must(ctx, fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok-%d\n  namespace: crwebhook\ndata:\n  a: b\n", i), "apply", "-f", "-")
		out = k.must(ctx, "", "-n", "crwebhook", "get", "configmap", fmt.Sprintf("ok-%d", i), "-o", "jsonpath={.metadata.labels.webhook}")
		if out == "seen" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a ConfigMap applied with kubectl was never labelled by the controller-runtime webhook (label %q)", out)
		}
		time.Sleep(time.Second)
	}
	out, err = k.run(ctx, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: warned\n  namespace: crwebhook\ndata:\n  a: b\n", "apply", "-f", "-")
	if err != nil || !strings.Contains(out, "Warning: checked by controller-runtime") {
		t.Errorf("kubectl apply through the validating webhook: want its warning printed, got err %v:\n%s", err, out)
	}
	out, err = k.run(ctx, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\n  namespace: crwebhook\ndata:\n  forbidden: x\n", "apply", "-f", "-")
	if err == nil || !strings.Contains(out, `admission webhook "validate.configmaps.clusterkit.io" denied the request: key "forbidden" is not allowed`) {
		t.Errorf("kubectl apply of a ConfigMap the webhook denies: want the webhook's denial, got err %v:\n%s", err, out)
	}
	if out, err := k.run(ctx, "", "-n", "crwebhook", "get", "configmap", "bad"); err == nil {
		t.Errorf("a denied ConfigMap was stored:\n%s", out)
	}

	// A CRD with a structural schema, defaults, a CEL rule and two versions.
	k.must(ctx, widgetCRD, "apply", "-f", "-")
	k.waitEstablished(ctx, "widgets.labs.clusterkit.io")
	k.must(ctx, "apiVersion: labs.clusterkit.io/v1beta1\nkind: Widget\nmetadata:\n  name: small\n  namespace: default\nspec:\n  color: red\n", "apply", "-f", "-")
	if out := k.must(ctx, "", "get", "widgets.v1.labs.clusterkit.io", "small", "-o", "jsonpath={.apiVersion} {.spec.size} {.spec.color}"); out != "labs.clusterkit.io/v1 3 red" {
		t.Errorf("a Widget created through v1beta1 and read through v1: want size defaulted to 3, got %q", out)
	}
	if out := k.must(ctx, "", "get", "widgets"); !strings.Contains(out, "SIZE") || !strings.Contains(out, "small") {
		t.Errorf("kubectl get widgets: want the SIZE printer column:\n%s", out)
	}
	out, err = k.run(ctx, "apiVersion: labs.clusterkit.io/v1\nkind: Widget\nmetadata:\n  name: big\n  namespace: default\nspec:\n  size: 11\n", "apply", "-f", "-")
	if err == nil || !strings.Contains(out, "size must be at most 10") {
		t.Errorf("kubectl apply of a Widget breaking the CEL rule: want its message, got err %v:\n%s", err, out)
	}
	out, err = k.run(ctx, "apiVersion: labs.clusterkit.io/v1\nkind: Widget\nmetadata:\n  name: odd\n  namespace: default\nspec:\n  size: 2\n  shape: round\n", "apply", "-f", "-")
	if err == nil || !strings.Contains(out, `unknown field "spec.shape"`) {
		t.Errorf("kubectl apply (strict field validation) of a Widget with a field outside its schema: want the unknown-field error, got err %v:\n%s", err, out)
	}
}

type kubectl struct {
	t          *testing.T
	path       string
	kubeconfig string
	home       string
}

func (k kubectl) run(ctx context.Context, stdin string, args ...string) (string, error) {
	k.t.Helper()
	cmd := exec.CommandContext(ctx, k.path, append([]string{"--kubeconfig", k.kubeconfig}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+k.home)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	k.t.Logf("$ kubectl %s\n%s", strings.Join(args, " "), out)
	return strings.TrimSpace(string(out)), err
}

func (k kubectl) must(ctx context.Context, stdin string, args ...string) string {
	k.t.Helper()
	out, err := k.run(ctx, stdin, args...)
	if err != nil {
		k.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// waitEstablished runs `kubectl wait --for condition=Established` on a CRD, asking again while
// kubectl answers ".status.conditions accessor error: <nil>": until the naming controller has
// written the first condition, status.conditions is null — on kube-apiserver too — and kubectl
// wait fails at once instead of waiting (kubernetes/kubernetes#66439).
func (k kubectl) waitEstablished(ctx context.Context, crd string) {
	k.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := k.run(ctx, "", "wait", "--for", "condition=Established", "--timeout=60s", "crd/"+crd)
		if err == nil {
			return
		}
		if !strings.Contains(out, ".status.conditions accessor error: <nil>") || time.Now().After(deadline) {
			k.t.Fatalf("kubectl wait --for condition=Established crd/%s: %v\n%s", crd, err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

const webhookServerYAML = `
apiVersion: v1
kind: ServiceAccount
metadata:
  name: crwebhook
  namespace: crwebhook
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: crwebhook
  namespace: crwebhook
spec:
  replicas: 1
  selector:
    matchLabels: {app: crwebhook}
  template:
    metadata:
      labels: {app: crwebhook}
    spec:
      serviceAccountName: crwebhook
      containers:
      - name: webhook
        image: ` + webhookImage + `
        imagePullPolicy: Never
        args: ["--cert-dir=/certs", "--port=9443", "--health-port=8081"]
        ports:
        - {name: webhook, containerPort: 9443}
        readinessProbe:
          httpGet: {path: /readyz, port: 8081}
          periodSeconds: 1
        volumeMounts:
        - {name: cert, mountPath: /certs, readOnly: true}
      volumes:
      - name: cert
        secret: {secretName: crwebhook-cert}
---
apiVersion: v1
kind: Service
metadata:
  name: crwebhook
  namespace: crwebhook
spec:
  selector: {app: crwebhook}
  ports:
  - {port: 443, targetPort: webhook}
`

const webhookConfigsYAML = `
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: crwebhook
webhooks:
- name: default.configmaps.clusterkit.io
  clientConfig:
    service: {namespace: crwebhook, name: crwebhook, path: /mutate--v1-configmap}
    caBundle: CABUNDLE
  rules:
  - {operations: [CREATE, UPDATE], apiGroups: [""], apiVersions: [v1], resources: [configmaps]}
  namespaceSelector:
    matchLabels: {crwebhook: "on"}
  sideEffects: None
  admissionReviewVersions: [v1]
  failurePolicy: Fail
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: crwebhook
webhooks:
- name: validate.configmaps.clusterkit.io
  clientConfig:
    service: {namespace: crwebhook, name: crwebhook, path: /validate--v1-configmap}
    caBundle: CABUNDLE
  rules:
  - {operations: [CREATE, UPDATE], apiGroups: [""], apiVersions: [v1], resources: [configmaps]}
  namespaceSelector:
    matchLabels: {crwebhook: "on"}
  sideEffects: None
  admissionReviewVersions: [v1]
  failurePolicy: Fail
`

const widgetCRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.labs.clusterkit.io
spec:
  group: labs.clusterkit.io
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    schema: &schema
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            x-kubernetes-validations:
            - {rule: "self.size <= 10", message: "size must be at most 10"}
            properties:
              size: {type: integer, minimum: 1, default: 3}
              color: {type: string, default: blue}
  - name: v1beta1
    served: true
    storage: false
    schema: *schema
`
