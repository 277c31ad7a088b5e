package kubelet

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	apiserverconfig "k8s.io/apiserver/pkg/apis/apiserver"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/authenticatorfactory"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	"k8s.io/client-go/kubernetes"
)

// Authorization modes of the kubelet API (the kubelet's --authorization-mode).
const (
	// AuthorizationWebhook asks the API server with a SubjectAccessReview (kubeadm's setting,
	// and the default of a kubelet serving HTTPS here).
	AuthorizationWebhook = "Webhook"
	// AuthorizationAlwaysAllow lets every authenticated (or anonymous) caller do everything
	// (the real kubelet's default without a configuration file).
	AuthorizationAlwaysAllow = "AlwaysAllow"
)

// The kubelet's defaults for its webhooks (KubeletConfiguration: authentication.webhook.cacheTTL
// 2m, authorization.webhook.cacheAuthorizedTTL 5m and cacheUnauthorizedTTL 30s), and
// k8s.io/apiserver's retry back-off for delegated authentication and authorization.
const (
	tokenCacheTTL      = 2 * time.Minute
	authorizedCacheTTL = 5 * time.Minute
	deniedCacheTTL     = 30 * time.Second
	webhookTimeout     = 10 * time.Second
)

func webhookBackoff() *wait.Backoff {
	return &wait.Backoff{Duration: 500 * time.Millisecond, Factor: 1.5, Jitter: 0.2, Steps: 5}
}

// secure reports whether the kubelet API serves HTTPS (and so authenticates and authorizes).
func (c Config) secure() bool {
	return c.TLSCertificate != nil || c.TLSCertFile != ""
}

// servingTLS is the kubelet API's TLS configuration: its serving certificate; client
// certificates are requested (not required: bearer tokens are the other way in) and verified
// by the x509 authenticator against the client CA. HTTP/1.1 only, as exec's SPDY and
// WebSocket upgrades need it.
func (c Config) servingTLS() (*tls.Config, error) {
	var cert tls.Certificate
	switch {
	case c.TLSCertificate != nil:
		cert = *c.TLSCertificate
	default:
		if c.TLSPrivateKeyFile == "" {
			return nil, fmt.Errorf("kubelet: TLSCertFile %s needs TLSPrivateKeyFile", c.TLSCertFile)
		}
		var err error
		if cert, err = tls.LoadX509KeyPair(c.TLSCertFile, c.TLSPrivateKeyFile); err != nil {
			return nil, fmt.Errorf("kubelet: loading the serving certificate: %w", err)
		}
	}
	tc := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"http/1.1"},
	}
	if ca, err := c.clientCA(); err != nil {
		return nil, err
	} else if ca != nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, fmt.Errorf("kubelet: the client CA holds no PEM certificate")
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.RequestClientCert
	}
	return tc, nil
}

// clientCA returns the client CA bundle (PEM), nil when none is configured.
func (c Config) clientCA() ([]byte, error) {
	if len(c.ClientCA) > 0 {
		return c.ClientCA, nil
	}
	if c.ClientCAFile == "" {
		return nil, nil
	}
	b, err := os.ReadFile(c.ClientCAFile)
	if err != nil {
		return nil, fmt.Errorf("kubelet: reading the client CA: %w", err)
	}
	return b, nil
}

// apiAuth authenticates and authorizes callers of the kubelet API as the real kubelet does
// (pkg/kubelet/server: InstallAuthFilter).
type apiAuth struct {
	node  string
	authn authenticator.Request
	authz authorizer.Authorizer
}

// newAPIAuth builds the kubelet API's authenticator — client certificates against the client
// CA, bearer tokens by TokenReview (cached), anonymous only when AnonymousAuth — and its
// authorizer (SubjectAccessReview, cached, or AlwaysAllow), with k8s.io/apiserver's delegating
// factories. Nothing is dialled here.
func newAPIAuth(cfg Config, client kubernetes.Interface) (*apiAuth, error) {
	ac := authenticatorfactory.DelegatingAuthenticatorConfig{
		Anonymous:                &apiserverconfig.AnonymousAuthConfig{Enabled: cfg.AnonymousAuth},
		TokenAccessReviewClient:  client.AuthenticationV1(),
		TokenAccessReviewTimeout: webhookTimeout,
		WebhookRetryBackoff:      webhookBackoff(),
		CacheTTL:                 tokenCacheTTL,
	}
	ca, err := cfg.clientCA()
	if err != nil {
		return nil, err
	}
	if ca != nil {
		if ac.ClientCertificateCAContentProvider, err = dynamiccertificates.NewStaticCAContent("client-ca", ca); err != nil {
			return nil, fmt.Errorf("kubelet: the client CA: %w", err)
		}
	}
	authn, _, err := ac.New()
	if err != nil {
		return nil, fmt.Errorf("kubelet: building the authenticator: %w", err)
	}
	var authz authorizer.Authorizer
	switch cfg.AuthorizationMode {
	case AuthorizationAlwaysAllow:
		authz = authorizerfactory.NewAlwaysAllowAuthorizer()
	case AuthorizationWebhook, "":
		authz, err = authorizerfactory.DelegatingAuthorizerConfig{
			SubjectAccessReviewClient: client.AuthorizationV1(),
			AllowCacheTTL:             authorizedCacheTTL,
			DenyCacheTTL:              deniedCacheTTL,
			WebhookRetryBackoff:       webhookBackoff(),
		}.New()
		if err != nil {
			return nil, fmt.Errorf("kubelet: building the authorizer: %w", err)
		}
	default:
		return nil, fmt.Errorf("kubelet: unknown authorization mode %q (%s or %s)", cfg.AuthorizationMode, AuthorizationWebhook, AuthorizationAlwaysAllow)
	}
	return &apiAuth{node: cfg.NodeName, authn: authn, authz: authz}, nil
}

// wrap guards next: an unauthenticated request gets 401 Unauthorized, one that no attribute
// allows 403 Forbidden naming the user, verb, resource and subresources, an authorizer
// failure 500.
func (a *apiAuth) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, ok, err := a.authn.AuthenticateRequest(r)
		if err != nil || !ok {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		attrs := RequestAttributes(resp.User, r, a.node)
		subresources := make([]string, 0, len(attrs))
		allowed := false
		for _, at := range attrs {
			subresources = append(subresources, at.Subresource)
			d, _, err := a.authz.Authorize(r.Context(), at)
			if err != nil {
				http.Error(w, fmt.Sprintf("Authorization error (user=%s, verb=%s, resource=%s, subresource(s)=%v)",
					resp.User.GetName(), at.Verb, at.Resource, subresources), http.StatusInternalServerError)
				return
			}
			if d == authorizer.DecisionAllow {
				allowed = true
				break
			}
		}
		if !allowed {
			http.Error(w, fmt.Sprintf("Forbidden (user=%s, verb=%s, resource=%s, subresource(s)=%v)",
				resp.User.GetName(), attrs[0].Verb, attrs[0].Resource, subresources), http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// RequestAttributes are the authorization attributes of a kubelet API request, as the real
// kubelet's NodeRequestAttributesGetter with KubeletFineGrainedAuthz (default on) maps them:
// resource nodes, name the node, verb from the HTTP method (POST create, GET and HEAD get, PUT
// update, PATCH patch, DELETE delete) and the subresource from the path — /stats stats,
// /metrics metrics, /logs log, /checkpoint checkpoint, everything else (/exec, /run,
// /attach, /portForward, /containerLogs …) proxy; /pods and /runningPods try pods, /healthz
// healthz, /configz configz and /statusz statusz before proxy. Any allowed attribute
// admits the request.
func RequestAttributes(u user.Info, r *http.Request, node string) []authorizer.AttributesRecord {
	verb := ""
	switch r.Method {
	case http.MethodPost:
		verb = "create"
	case http.MethodGet, http.MethodHead:
		verb = "get"
	case http.MethodPut:
		verb = "update"
	case http.MethodPatch:
		verb = "patch"
	case http.MethodDelete:
		verb = "delete"
	}
	path := r.URL.Path
	var subresources []string
	switch {
	case isSubpath(path, "/pods"), isSubpath(path, "/runningpods"):
		subresources = append(subresources, "pods")
	case isSubpath(path, "/healthz"):
		subresources = append(subresources, "healthz")
	case isSubpath(path, "/configz"):
		subresources = append(subresources, "configz")
	case isSubpath(path, "/statusz"):
		subresources = append(subresources, "statusz")
	}
	switch {
	case isSubpath(path, "/stats"):
		subresources = append(subresources, "stats")
	case isSubpath(path, "/metrics"):
		subresources = append(subresources, "metrics")
	case isSubpath(path, "/logs"):
		subresources = append(subresources, "log")
	case isSubpath(path, "/checkpoint"):
		subresources = append(subresources, "checkpoint")
	default:
		subresources = append(subresources, "proxy")
	}
	out := make([]authorizer.AttributesRecord, 0, len(subresources))
	for _, s := range subresources {
		out = append(out, authorizer.AttributesRecord{
			User: u, Verb: verb, APIVersion: "v1", Resource: "nodes", Subresource: s, Name: node,
			ResourceRequest: true, Path: path,
		})
	}
	return out
}

// isSubpath reports whether path is prefix or below it.
func isSubpath(path, prefix string) bool {
	prefix = strings.TrimSuffix(prefix, "/")
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}
