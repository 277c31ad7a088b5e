package conformance

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

// srcKubeletAuth is the source of the kubelet API's authentication and authorization.
const srcKubeletAuth = "Kubernetes: Kubelet authentication/authorization (kubeadm: --anonymous-auth=false, --authorization-mode=Webhook, --client-ca-file)"

// kubeletAPISpecs are the specs of the kubelet's own API, reached directly at the node's
// kubelet endpoint rather than through the API server.
func kubeletAPISpecs() []spec[*kubeletEnv] {
	return []spec[*kubeletEnv]{
		{kubeletBehavior("kubelet.api.anonymous-refused",
			"the kubelet API at the node's kubelet endpoint MUST refuse requests without credentials with 401 Unauthorized, for a running pod's containerLogs and exec alike",
			srcKubeletAuth), specKubeletAPIAnonymous},
		{kubeletBehavior("kubelet.api.authorized-per-node-subresource",
			"the kubelet API MUST authorize every authenticated caller with the node's subresources: a ServiceAccount token not granted nodes/proxy MUST get 403 Forbidden for containerLogs and exec, while the cluster administrator's credentials MUST read the container's log",
			srcKubeletAuth), specKubeletAPIAuthorized},
	}
}

// kubeletEndpoint is the base URL of the node's kubelet API: https, the node's first
// InternalIP (else Hostname, ExternalIP) and status.daemonEndpoints.kubeletEndpoint.port, as
// the API server finds it.
func (e *kubeletEnv) kubeletEndpoint(ctx context.Context, g gomega.Gomega) *url.URL {
	node, err := e.client.CoreV1().Nodes().Get(ctx, e.k.Node, metav1.GetOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "reading node %s", e.k.Node)
	port := node.Status.DaemonEndpoints.KubeletEndpoint.Port
	g.ExpectWithOffset(1, port).NotTo(gomega.BeZero(), "node %s publishes no kubelet port (status.daemonEndpoints)", e.k.Node)
	host := ""
	for _, t := range []corev1.NodeAddressType{corev1.NodeInternalIP, corev1.NodeHostName, corev1.NodeExternalIP} {
		for _, a := range node.Status.Addresses {
			if a.Type == t && a.Address != "" && host == "" {
				host = a.Address
			}
		}
	}
	g.ExpectWithOffset(1, host).NotTo(gomega.BeEmpty(), "node %s has no address", e.k.Node)
	return &url.URL{Scheme: "https", Host: net.JoinHostPort(host, strconv.Itoa(int(port)))}
}

// kubeletCall is one request to the kubelet API and what came back.
type kubeletCall struct {
	What   string
	Status int
	Body   string
}

// callKubelet sends method path to the kubelet at base with client (TLS without verifying the
// kubelet's serving certificate, which kubeadm's kubelets sign themselves).
func callKubelet(ctx context.Context, client *http.Client, base *url.URL, method, path string, query url.Values) (kubeletCall, error) {
	u := *base
	u.Path = path
	u.RawQuery = query.Encode()
	call := kubeletCall{What: method + " " + u.Path}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return call, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return call, fmt.Errorf("%s: %w", call.What, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	call.Status, call.Body = resp.StatusCode, strings.TrimSpace(string(b))
	return call, nil
}

// kubeletHTTPClient reaches the kubelet API with cfg's credentials (client certificate,
// bearer token …) and no verification of the kubelet's serving certificate; nil cfg sends no
// credentials at all.
func kubeletHTTPClient(cfg *rest.Config) (*http.Client, error) {
	if cfg == nil {
		return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // kubelets' serving certificates are often self-signed
			Proxy:           nil,
		}}, nil
	}
	c := rest.CopyConfig(cfg)
	c.TLSClientConfig.Insecure = true
	c.TLSClientConfig.CAData, c.TLSClientConfig.CAFile = nil, ""
	c.TLSClientConfig.ServerName = ""
	c.Timeout = 30 * time.Second
	return rest.HTTPClientFor(c)
}

// runningLogPod starts a pod writing three log lines and waits until it runs.
func (e *kubeletEnv) runningLogPod(ctx context.Context, g gomega.Gomega, name string) {
	e.create(ctx, g, e.testPod(name, "logs", "--lines", "3"))
	e.waitPod(ctx, g, name, "Running", startTimeout, isRunning)
}

// podAPIPaths are the kubelet API requests on a pod's container: its log and an exec.
func (e *kubeletEnv) podAPIPaths(pod string) []struct {
	method, path string
	query        url.Values
} {
	return []struct {
		method, path string
		query        url.Values
	}{
		{http.MethodGet, "/containerLogs/" + e.ns + "/" + pod + "/c", nil},
		{http.MethodPost, "/exec/" + e.ns + "/" + pod + "/c", url.Values{"command": {"/ckimage", "echo", "hi"}, "stdout": {"true"}}},
	}
}

// unboundServiceAccountClient creates the ServiceAccount kubelet-api-caller in the spec's
// namespace, bound to no role, and returns a kubelet API client with a token of it.
func (e *kubeletEnv) unboundServiceAccountClient(ctx context.Context, g gomega.Gomega, host string) *http.Client {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "kubelet-api-caller", Namespace: e.ns}}
	_, err := e.client.CoreV1().ServiceAccounts(e.ns).Create(ctx, sa, metav1.CreateOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "creating ServiceAccount %s", sa.Name)
	tr, err := e.client.CoreV1().ServiceAccounts(e.ns).CreateToken(ctx, sa.Name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)},
	}, metav1.CreateOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "requesting a token for ServiceAccount %s", sa.Name)
	c, err := kubeletHTTPClient(&rest.Config{Host: host, BearerToken: tr.Status.Token})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred())
	return c
}

func specKubeletAPIAnonymous(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	e.runningLogPod(ctx, g, "anon")
	base := e.kubeletEndpoint(ctx, g)
	client, err := kubeletHTTPClient(nil)
	g.Expect(err).NotTo(gomega.HaveOccurred())
	for _, p := range e.podAPIPaths("anon") {
		call, err := callKubelet(ctx, client, base, p.method, p.path, p.query)
		g.Expect(err).NotTo(gomega.HaveOccurred(), "reaching the kubelet API at %s", base)
		g.Expect(call.Status).To(gomega.Equal(http.StatusUnauthorized),
			"%s without credentials must be refused with 401; got %d %q", call.What, call.Status, call.Body)
	}
}

func specKubeletAPIAuthorized(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	e.runningLogPod(ctx, g, "guarded")
	base := e.kubeletEndpoint(ctx, g)

	// A ServiceAccount of the spec's namespace, bound to nothing: authenticated, not allowed.
	saClient := e.unboundServiceAccountClient(ctx, g, base.String())
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "kubelet-api-caller", Namespace: e.ns}}
	for _, p := range e.podAPIPaths("guarded") {
		call, err := callKubelet(ctx, saClient, base, p.method, p.path, p.query)
		g.Expect(err).NotTo(gomega.HaveOccurred(), "reaching the kubelet API at %s", base)
		g.Expect(call.Status).To(gomega.Equal(http.StatusForbidden),
			"%s by ServiceAccount %s/%s (no nodes/proxy) must be forbidden with 403; got %d %q", call.What, e.ns, sa.Name, call.Status, call.Body)
		g.Expect(call.Body).To(gomega.ContainSubstring("Forbidden"), "%s: the 403 must say why", call.What)
	}

	// The administrator may: the container's log comes back.
	admin, err := kubeletHTTPClient(e.k.Config)
	g.Expect(err).NotTo(gomega.HaveOccurred())
	logs := e.podAPIPaths("guarded")[0]
	g.Eventually(func() (kubeletCall, error) {
		return callKubelet(ctx, admin, base, logs.method, logs.path, logs.query)
	}).WithContext(ctx).WithTimeout(15*time.Second).WithPolling(300*time.Millisecond).Should(
		gomega.SatisfyAll(
			gomega.HaveField("Status", http.StatusOK),
			gomega.HaveField("Body", gomega.ContainSubstring("line 3")),
		), "the cluster administrator must read the container's log from the kubelet API")
}
