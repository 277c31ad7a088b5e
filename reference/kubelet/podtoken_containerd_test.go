package kubelet_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/request/bearertoken"
	"k8s.io/apiserver/pkg/authentication/token/tokenfile"
	"k8s.io/apiserver/pkg/authentication/token/union"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/apiserver/serviceaccount"
	saadmission "github.com/clusterkit/clusterkit/reference/apiserver/serviceaccount/admission"
	"github.com/clusterkit/clusterkit/reference/kubelet/kubeletharness"
	"github.com/clusterkit/clusterkit/reference/kubelet/localnode"
	"github.com/clusterkit/clusterkit/reference/store/memory"
)

// robotAuthorizer allows the administrator everything and the ServiceAccount ns/robot only to
// read pods of its namespace.
type robotAuthorizer struct{ ns string }

func (a robotAuthorizer) Authorize(_ context.Context, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
	u := attrs.GetUser()
	if u.GetName() == "admin" {
		return authorizer.DecisionAllow, "", nil
	}
	if u.GetName() == "system:serviceaccount:"+a.ns+":robot" && attrs.IsResourceRequest() && attrs.GetNamespace() == a.ns &&
		attrs.GetResource() == "pods" && attrs.GetVerb() == "get" {
		return authorizer.DecisionAllow, "", nil
	}
	return authorizer.DecisionDeny, "", nil
}

// TestPodCallsAPIWithItsToken runs a pod on a real containerd whose ServiceAccount token the
// kubelet projects at /var/run/secrets/kubernetes.io/serviceaccount (the volume ServiceAccount
// admission adds); a process in the container reads the token and calls the API server with
// it, which authenticates it as the ServiceAccount (allowed to read its pod, refused Secrets).
func TestPodCallsAPIWithItsToken(t *testing.T) {
	if why := kubeletharness.ContainerdUnavailable(); why != "" {
		t.Skipf("real containers unavailable: %s", why)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	const ns = "podtoken"

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	const issuerURL = "https://kubernetes.default.svc.cluster.local"
	issuer, err := serviceaccount.NewIssuer(issuerURL, key)
	if err != nil {
		t.Fatal(err)
	}
	store := memory.New()
	auds := authenticator.Audiences{issuerURL}
	saAuth, err := issuer.Authenticator(auds, apiserver.StoreTokenGetter(store, nil))
	if err != nil {
		t.Fatal(err)
	}
	admin := tokenfile.New(map[string]*user.DefaultInfo{"admin-token": {Name: "admin", Groups: []string{user.AllAuthenticated}}})
	srv, err := apiserver.New(apiserver.Config{
		Store: store, ServiceAccountIssuer: issuer,
		Access: apiserver.Access{Authenticator: bearertoken.New(union.New(admin, saAuth)), APIAudiences: auds, Authorizer: authorizer.AuthorizerFunc(robotAuthorizer{ns}.Authorize)},
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln) }()
	defer func() {
		stop()
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("apiserver: %v", err)
		}
	}()
	apiURL := "http://" + ln.Addr().String()
	rc := &rest.Config{Host: apiURL, BearerToken: "admin-token", QPS: -1}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}

	endpoint, stopContainerd, err := kubeletharness.StartContainerd(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stopContainerd()
	kc := kubeletharness.KubeletConfig(time.Second)
	kc.Logf = t.Logf
	node, err := localnode.Start(ctx, rc, localnode.Config{Name: "token-node", Dir: t.TempDir(), Runtime: endpoint, Kubelet: kc})
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()

	for _, obj := range []func() error{
		func() error {
			_, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
			return err
		},
		func() error {
			_, err := client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "robot"}}, metav1.CreateOptions{})
			return err
		},
		func() error {
			_, err := client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: saadmission.RootCAConfigMap}, Data: map[string]string{saadmission.RootCAKey: "test CA\n"}}, metav1.CreateOptions{})
			return err
		},
	} {
		if err := obj(); err != nil {
			t.Fatal(err)
		}
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "caller", Namespace: ns},
		Spec: corev1.PodSpec{
			NodeName: node.Name(), ServiceAccountName: "robot", HostNetwork: true,
			Volumes: []corev1.Volume{{Name: "kube-api-access-test0", VolumeSource: corev1.VolumeSource{Projected: saadmission.TokenVolumeSource()}}},
			Containers: []corev1.Container{{
				Name: "c", Image: "clusterkit.local/ckimage:v1", ImagePullPolicy: corev1.PullNever,
				Command: []string{"/ckimage"}, Args: []string{"sleep", "3600"},
				VolumeMounts: []corev1.VolumeMount{{Name: "kube-api-access-test0", MountPath: saadmission.MountPath, ReadOnly: true}},
			}},
		},
	}
	if _, err := client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var id string
	for id == "" {
		p, err := client.CoreV1().Pods(ns).Get(ctx, "caller", metav1.GetOptions{})
		if err == nil && p.Status.Phase == corev1.PodRunning && len(p.Status.ContainerStatuses) == 1 {
			id = p.Status.ContainerStatuses[0].ContainerID
			id = id[strings.Index(id, "://")+3:]
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the pod did not run: %+v", p.Status)
		case <-time.After(200 * time.Millisecond):
		}
	}
	exec := func(cmd ...string) *runtimeapi.ExecSyncResponse {
		t.Helper()
		stdout, stderr, err := node.Runtime().ExecSync(ctx, id, cmd, 30*time.Second)
		res := &runtimeapi.ExecSyncResponse{Stdout: stdout, Stderr: stderr}
		var exit interface{ ExitStatus() int }
		if errors.As(err, &exit) {
			res.ExitCode = int32(exit.ExitStatus())
		} else if err != nil {
			t.Fatalf("exec %q: %v", cmd, err)
		}
		return res
	}
	for file, want := range map[string]string{"namespace": ns, "ca.crt": "test CA\n"} {
		if got := exec("/ckimage", "cat", saadmission.MountPath+"/"+file); got.ExitCode != 0 || string(got.Stdout) != want {
			t.Errorf("%s in the container: %q (exit %d, %s), want %q", file, got.Stdout, got.ExitCode, got.Stderr, want)
		}
	}
	tokenFile := saadmission.MountPath + "/token"
	if got := exec("/ckimage", "cat", tokenFile); got.ExitCode != 0 || strings.Count(string(got.Stdout), ".") != 2 {
		t.Fatalf("the token in the container: %q (exit %d, %s)", got.Stdout, got.ExitCode, got.Stderr)
	}
	own := exec("/ckimage", "fetch", "--bearer-file", tokenFile, fmt.Sprintf("%s/api/v1/namespaces/%s/pods/caller", apiURL, ns))
	if own.ExitCode != 0 || !strings.Contains(string(own.Stdout), `"name":"caller"`) {
		t.Errorf("reading its pod with its token: exit %d, %s %s", own.ExitCode, own.Stdout, own.Stderr)
	}
	secrets := exec("/ckimage", "fetch", "--bearer-file", tokenFile, fmt.Sprintf("%s/api/v1/namespaces/%s/secrets", apiURL, ns))
	if secrets.ExitCode == 0 || !strings.Contains(string(secrets.Stdout), `system:serviceaccount:`+ns+`:robot`) {
		t.Errorf("listing Secrets with its token must be refused naming the ServiceAccount: exit %d, %s %s", secrets.ExitCode, secrets.Stdout, secrets.Stderr)
	}
	anon := exec("/ckimage", "fetch", fmt.Sprintf("%s/api/v1/namespaces/%s/pods/caller", apiURL, ns))
	if anon.ExitCode == 0 {
		t.Errorf("reading the pod without a token must be refused: %s", anon.Stdout)
	}
	t.Logf("refused: %s", secrets.Stdout)
}
