package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"
	streamhttp "k8s.io/streaming/pkg/httpstream"
)

// specClient is the client a spec talks to the API with. client-go's default
// of 5 requests a second would serialize concurrent spec clients into a
// convoy in which every read-modify-write loses: not what specs measure. A
// config that sets its own rate is kept as it is.
func specClient(base *rest.Config) (kubernetes.Interface, error) {
	cfg := rest.CopyConfig(base)
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 200, 400
	}
	return kubernetes.NewForConfig(cfg)
}

// specNamespace creates a namespace of the spec's own, ck-<component>-<time>-<n>,
// and deletes it when the spec ends, so specs can share a live cluster.
func specNamespace(ctx context.Context, client kubernetes.Interface, c Cleaner, component string) (string, error) {
	return newSpecNamespace(ctx, client, c, component, false, nil)
}

// specNamespaceWithServiceAccount is specNamespace for the components whose harness may be an
// API server alone (no controller manager to make the default ServiceAccount): it creates
// the default ServiceAccount itself before waiting for pods to be admitted.
func specNamespaceWithServiceAccount(ctx context.Context, client kubernetes.Interface, c Cleaner, component string) (string, error) {
	return newSpecNamespace(ctx, client, c, component, true, nil)
}

// newSpecNamespace creates the namespace with labels from the start: admission plugins that
// read namespaces through a cache (kube-apiserver's Pod Security) look a namespace they have
// not seen up live, but may act on stale labels after a later change.
func newSpecNamespace(ctx context.Context, client kubernetes.Interface, c Cleaner, component string, withServiceAccount bool, labels map[string]string) (string, error) {
	// A name taken already (another spec's, or this create's own if a proxy or client
	// repeated it) is replaced by a fresh one, as the upstream e2e framework's
	// CreateTestingNS does; it does not use generateName either, since after a failed call
	// the generated name would be unknown.
	var ns string
	for attempt := 0; ; attempt++ {
		ns = fmt.Sprintf("ck-%s-%s-%05d", component, time.Now().Format("150405"), rand.IntN(100000))
		_, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: labels}}, metav1.CreateOptions{})
		if err == nil {
			break
		}
		if !apierrors.IsAlreadyExists(err) || attempt == 4 {
			return "", fmt.Errorf("creating the spec's namespace %s: %w", ns, err)
		}
	}
	c.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.CoreV1().Namespaces().Delete(cctx, ns, metav1.DeleteOptions{})
	})
	if withServiceAccount {
		if err := ensureDefaultServiceAccount(ctx, client, ns); err != nil {
			return "", err
		}
	}
	if err := waitPodsAdmitted(ctx, client, ns); err != nil {
		return "", err
	}
	return ns, nil
}

// ensureDefaultServiceAccount makes sure the namespace's "default" ServiceAccount exists. A
// real control plane's ServiceAccount admission refuses a pod that names no ServiceAccount
// until kube-controller-manager has created the namespace's "default" one, a moment after
// the namespace: specs that create pods right away would race it. Creating it through the
// API is harmless where a controller also does (the loser sees AlreadyExists).
func ensureDefaultServiceAccount(ctx context.Context, client kubernetes.Interface, ns string) error {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	if _, err := client.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the default ServiceAccount of %s: %w", ns, err)
	}
	return nil
}

// waitPodsAdmitted waits until the namespace admits pods: on a cluster with ServiceAccount
// admission a pod is refused until the serviceaccount controller has made the namespace's
// default ServiceAccount (the upstream e2e framework waits for it too). It asks with a dry-run
// create, so it costs one request where there is no such admission.
func waitPodsAdmitted(ctx context.Context, client kubernetes.Interface, ns string) error {
	probe := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "ck-admission-probe"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.example/probe:1.0"}}},
	}
	for {
		_, err := client.CoreV1().Pods(ns).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "service account") {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for namespace %s to admit pods (its default ServiceAccount): %w (last error: %w)", ns, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// podExec runs command in a container of a pod through pods/exec, with
// protocol "websocket", "spdy" or "kubectl" (WebSocket falling back to SPDY,
// as kubectl does), feeding stdin if set. It returns stdout, stderr and the
// exit code (-1 on errors other than a non-zero exit).
func podExec(ctx context.Context, cfg *rest.Config, client kubernetes.Interface, ns, pod, container, protocol string, stdin io.Reader, command ...string) (string, string, int, error) {
	req := client.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: command, Stdin: stdin != nil, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	var ex remotecommand.Executor
	ws, err := remotecommand.NewWebSocketExecutor(cfg, "GET", req.URL().String())
	if err != nil {
		return "", "", -1, err
	}
	spdy, err := remotecommand.NewSPDYExecutor(cfg, "POST", req.URL())
	if err != nil {
		return "", "", -1, err
	}
	switch protocol {
	case "websocket":
		ex = ws
	case "spdy":
		ex = spdy
	default:
		if ex, err = remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
			return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err) ||
				streamhttp.IsUpgradeFailure(err) || streamhttp.IsHTTPSProxyError(err)
		}); err != nil {
			return "", "", -1, err
		}
	}
	var stdout, stderr bytes.Buffer
	err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: &stdout, Stderr: &stderr})
	var exitErr utilexec.ExitError
	switch {
	case err == nil:
		return stdout.String(), stderr.String(), 0, nil
	case errors.As(err, &exitErr):
		return stdout.String(), stderr.String(), exitErr.ExitStatus(), nil
	}
	return stdout.String(), stderr.String(), -1, err
}
