package apiserver

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterkit/clusterkit/reference/apiserver/storage"
)

// proxyPath returns what follows NAME/proxy in the request's path ("" for none), and
// whether the path is a proxy path of rest (RESOURCE, NAME, "proxy", …).
func proxyPath(r *http.Request, rest []string) (string, bool) {
	if len(rest) < 3 || rest[2] != "proxy" {
		return "", false
	}
	p := r.URL.EscapedPath()
	marker := "/" + rest[0] + "/" + rest[1] + "/proxy"
	i := strings.Index(p, marker)
	if i < 0 {
		return "", false
	}
	return p[i+len(marker):], true
}

// splitSchemeNamePort splits a proxy name as kube-apiserver does: NAME, NAME:PORT or
// SCHEME:NAME:PORT, with SCHEME "", "http" or "https".
func splitSchemeNamePort(id string) (scheme, name, port string, ok bool) {
	parts := strings.Split(id, ":")
	switch len(parts) {
	case 1:
		name = parts[0]
	case 2:
		name, port = parts[0], parts[1]
	case 3:
		scheme, name, port = parts[0], parts[1], parts[2]
	default:
		return "", "", "", false
	}
	if name == "" || scheme != "" && scheme != "http" && scheme != "https" {
		return "", "", "", false
	}
	return scheme, name, port, true
}

// serveProxy answers pods/NAME/proxy/PATH, services/NAME/proxy/PATH and nodes/NAME/proxy/PATH
// as kube-apiserver's proxy REST does: the request (any method, upgrades included) goes to the
// pod's IP, to a ready endpoint of the Service's port, or to the node's kubelet, at PATH; the name may carry a port and a scheme
// (https:NAME:PORT), and HTTPS backends are not verified.
func (s *Server) serveProxy(w http.ResponseWriter, r *http.Request, req request) {
	gr := req.res.GroupResource()
	scheme, name, port, ok := splitSchemeNamePort(req.name)
	if !ok {
		writeError(w, apierrors.NewBadRequest(fmt.Sprintf("invalid %s request %q", gr.Resource, req.name)))
		return
	}
	ctx := r.Context()
	obj, err := s.objects.Get(ctx, req.res, req.namespace, name)
	if err != nil {
		writeError(w, err)
		return
	}
	var host string
	var transport http.RoundTripper
	switch o := obj.(type) {
	case *corev1.Node:
		var base *url.URL
		base, transport, err = s.nodeProxyLocation(ctx, o, scheme, port)
		if err == nil {
			scheme, host = base.Scheme, base.Host
		}
	case *corev1.Pod:
		host, err = podProxyHost(o, port)
	case *corev1.Service:
		host, err = s.serviceProxyHost(r, o, port)
	default:
		err = apierrors.NewNotFound(gr, name)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	if scheme == "" {
		scheme = "http"
	}
	path := req.proxyPath
	if path == "" {
		path = "/"
	}
	target := &url.URL{Scheme: scheme, Host: host, RawQuery: r.URL.RawQuery}
	if u, perr := url.Parse(path); perr == nil {
		target.Path, target.RawPath = u.Path, u.RawPath
	} else {
		target.Path = path
	}
	if transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ForceAttemptHTTP2 = false
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // as kube-apiserver's proxy transport
		transport = t
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL = target
			pr.Out.Host = target.Host
			pr.Out.Header.Del("Authorization") // the caller's credentials stay with the API server
			pr.SetXForwarded()
		},
		Transport:     transport,
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			writeError(w, apierrors.NewServiceUnavailable(fmt.Sprintf("error trying to reach %s: %v", strings.TrimSuffix(gr.Resource, "s"), err)))
		},
	}
	proxy.ServeHTTP(w, r)
}

// nodeProxyLocation is where nodes/NAME/proxy goes, as kube-apiserver's node ResourceLocation
// decides: without a port (or with the kubelet's), the kubelet's endpoint through the
// connection the server reaches kubelets with (its client certificate); with another port, that
// port on the node's address through the plain proxy transport (scheme http unless asked).
func (s *Server) nodeProxyLocation(ctx context.Context, node *corev1.Node, scheme, port string) (*url.URL, http.RoundTripper, error) {
	base, rt, err := s.cfg.NodeConnection.KubeletLocation(ctx, node)
	if err != nil {
		return nil, nil, err
	}
	if port == "" || port == base.Port() {
		if scheme != "" && scheme != base.Scheme {
			return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("the kubelet of node %s serves %s, not %s", node.Name, base.Scheme, scheme))
		}
		return base, rt, nil
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("invalid port %q", port))
	}
	if scheme == "" {
		scheme = "http"
	}
	return &url.URL{Scheme: scheme, Host: net.JoinHostPort(base.Hostname(), port)}, nil, nil
}

// podProxyHost is the pod's IP with port: when none is asked for, the first port a container
// of the pod declares, as kube-apiserver picks it (80 when none declares one).
func podProxyHost(p *corev1.Pod, port string) (string, error) {
	if p.Status.PodIP == "" {
		return "", apierrors.NewServiceUnavailable(fmt.Sprintf("pod %s has no IP address", p.Name))
	}
	if port == "" {
		for _, c := range p.Spec.Containers {
			if len(c.Ports) > 0 {
				port = strconv.Itoa(int(c.Ports[0].ContainerPort))
				break
			}
		}
	}
	if port == "" {
		port = "80"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", apierrors.NewBadRequest(fmt.Sprintf("invalid port %q", port))
	}
	return net.JoinHostPort(p.Status.PodIP, port), nil
}

// serviceProxyHost picks a ready endpoint of the Service's port (by name, or by number
// mapped to its name; "" is the unnamed port) from its EndpointSlices.
func (s *Server) serviceProxyHost(r *http.Request, svc *corev1.Service, port string) (string, error) {
	if n, err := strconv.Atoi(port); err == nil {
		found := false
		for _, sp := range svc.Spec.Ports {
			if int(sp.Port) == n {
				port, found = sp.Name, true
				break
			}
		}
		if !found {
			return "", apierrors.NewServiceUnavailable(fmt.Sprintf("no service port %d found for service %q", n, svc.Name))
		}
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return "", apierrors.NewBadRequest(fmt.Sprintf("no endpoints available for service %q", svc.Name))
	}
	res := s.registry().Lookup(discoveryv1.SchemeGroupVersion.WithResource("endpointslices"))
	if res == nil {
		return "", apierrors.NewServiceUnavailable(fmt.Sprintf("no endpoints available for service %q", svc.Name))
	}
	list, err := s.objects.List(r.Context(), res, svc.Namespace, storage.ListOptions{Filter: func(o runtime.Object) bool {
		es, ok := o.(*discoveryv1.EndpointSlice)
		return ok && es.Labels[discoveryv1.LabelServiceName] == svc.Name
	}})
	if err != nil {
		return "", err
	}
	for _, o := range list.Items {
		es := o.(*discoveryv1.EndpointSlice)
		for _, p := range es.Ports {
			if p.Port == nil || ptrDeref(p.Name) != port {
				continue
			}
			for _, ep := range es.Endpoints {
				if ep.Conditions.Ready != nil && !*ep.Conditions.Ready || len(ep.Addresses) == 0 {
					continue
				}
				return net.JoinHostPort(ep.Addresses[0], strconv.Itoa(int(*p.Port))), nil
			}
		}
	}
	return "", apierrors.NewServiceUnavailable(fmt.Sprintf("no endpoints available for service %q", svc.Name))
}

func ptrDeref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
