package apiserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/httpstream/wsstream"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/admission"
)

// NodeConnection locates the kubelet of a node, for pods/log and pods/exec. A later kubelet
// implementation plugs in here; the server reverse-proxies (including protocol upgrades for
// exec) to the location it returns.
type NodeConnection interface {
	// KubeletLocation returns the base URL of node's kubelet and the transport to reach it. It
	// fails with a ServiceUnavailable error when the node has no reachable kubelet.
	KubeletLocation(ctx context.Context, node *corev1.Node) (*url.URL, http.RoundTripper, error)
}

// KubeletConnection is the default NodeConnection: the node's first InternalIP (else Hostname,
// ExternalIP) and status.daemonEndpoints.kubeletEndpoint.port.
type KubeletConnection struct {
	// Scheme of the kubelet endpoint (default "http").
	Scheme string
	// Transport used to reach kubelets (default http.DefaultTransport).
	Transport http.RoundTripper
}

// KubeletTLSConnection reaches kubelets over HTTPS as kube-apiserver does with
// --kubelet-certificate-authority, --kubelet-client-certificate and --kubelet-client-key:
// each kubelet's serving certificate is verified against ca (for the node address dialled),
// and client (kubeadm's apiserver-kubelet-client: kube-apiserver-kubelet-client in
// system:masters) is presented to it. HTTP/1.1 only, which exec's upgrades need.
func KubeletTLSConnection(ca *x509.CertPool, client tls.Certificate) KubeletConnection {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ForceAttemptHTTP2 = false
	t.TLSClientConfig = &tls.Config{
		MinVersion:   tls.VersionTLS12,
		RootCAs:      ca,
		Certificates: []tls.Certificate{client},
		NextProtos:   []string{"http/1.1"},
	}
	return KubeletConnection{Scheme: "https", Transport: t}
}

// KubeletLocation implements NodeConnection.
func (k KubeletConnection) KubeletLocation(_ context.Context, node *corev1.Node) (*url.URL, http.RoundTripper, error) {
	port := node.Status.DaemonEndpoints.KubeletEndpoint.Port
	if port == 0 {
		return nil, nil, apierrors.NewServiceUnavailable(fmt.Sprintf("node %s has no kubelet endpoint registered (status.daemonEndpoints)", node.Name))
	}
	host := ""
	for _, t := range []corev1.NodeAddressType{corev1.NodeInternalIP, corev1.NodeHostName, corev1.NodeExternalIP} {
		for _, a := range node.Status.Addresses {
			if a.Type == t && a.Address != "" && host == "" {
				host = a.Address
			}
		}
	}
	if host == "" {
		return nil, nil, apierrors.NewServiceUnavailable(fmt.Sprintf("node %s has no address in status.addresses", node.Name))
	}
	scheme := k.Scheme
	if scheme == "" {
		scheme = "http"
	}
	rt := k.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	return &url.URL{Scheme: scheme, Host: net.JoinHostPort(host, strconv.Itoa(int(port)))}, rt, nil
}

// serveNodeProxy proxies pods/NAME/log (kubelet path /containerLogs/NS/POD/CONTAINER),
// pods/NAME/exec (/exec/NS/POD/CONTAINER) and pods/NAME/attach (/attach/NS/POD/CONTAINER) to
// the pod's kubelet.
func (s *Server) serveNodeProxy(w http.ResponseWriter, r *http.Request, req request, kubeletPath string) {
	if kubeletPath == "containerLogs" && r.Method != http.MethodGet {
		writeError(w, apierrors.NewMethodNotSupported(req.res.GroupResource(), strings.ToLower(r.Method)))
		return
	}
	connect := kubeletPath == "exec" || kubeletPath == "attach"
	if connect && r.Method != http.MethodGet && r.Method != http.MethodPost {
		writeError(w, apierrors.NewMethodNotSupported(req.res.GroupResource(), strings.ToLower(r.Method)))
		return
	}
	if kubeletPath == "containerLogs" {
		if err := validatePodLogOptions(req.name, r.URL.Query()); err != nil {
			writeError(w, err)
			return
		}
	}
	ctx := r.Context()
	if connect {
		// CONNECT admission, as kube-apiserver runs it for exec, attach and port-forward
		// before it looks at the pod: mutating then validating plugins (webhooks among them)
		// see the request's options as the client sent them.
		a := s.connectAttributes(ctx, req, kubeletPath, r.URL.Query())
		if err := s.admitMutating(ctx, a); err != nil {
			writeError(w, err)
			return
		}
		if err := s.admitValidating(ctx, a); err != nil {
			writeError(w, err)
			return
		}
	}
	obj, err := s.objects.Get(ctx, req.res, req.namespace, req.name)
	if err != nil {
		writeError(w, err)
		return
	}
	pod := obj.(*corev1.Pod)
	q := r.URL.Query()
	container := q.Get("container")
	if container == "" {
		switch len(pod.Spec.Containers) {
		case 1:
			container = pod.Spec.Containers[0].Name
		default:
			names := make([]string, 0, len(pod.Spec.Containers))
			for _, c := range pod.Spec.Containers {
				names = append(names, c.Name)
			}
			msg := fmt.Sprintf("a container name must be specified for pod %s, choose one of: %v", pod.Name, names)
			var inits, ephemerals []string
			for _, c := range pod.Spec.InitContainers {
				inits = append(inits, c.Name)
			}
			for _, c := range pod.Spec.EphemeralContainers {
				ephemerals = append(ephemerals, c.Name)
			}
			if len(inits) > 0 {
				msg += fmt.Sprintf(" or one of the init containers: %v", inits)
			}
			if len(ephemerals) > 0 {
				msg += fmt.Sprintf(" or one of the ephemeral containers: %v", ephemerals)
			}
			writeError(w, apierrors.NewBadRequest(msg))
			return
		}
	} else if !hasContainer(pod, container) {
		writeError(w, apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", container, pod.Name)))
		return
	}
	base, rt, err := s.podKubelet(ctx, pod)
	if err != nil {
		writeError(w, err)
		return
	}
	q.Del("container")
	target := *base
	target.Path = strings.TrimSuffix(base.Path, "/") + "/" + kubeletPath + "/" + url.PathEscape(pod.Namespace) + "/" +
		url.PathEscape(pod.Name) + "/" + url.PathEscape(container)
	target.RawQuery = q.Encode()
	if kubeletPath == "containerLogs" && wsstream.IsWebSocketRequest(r) {
		s.serveLogsWebSocket(w, r, &target, rt, pod.Spec.NodeName)
		return
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL = &target
			pr.Out.Host = target.Host
		},
		Transport:     rt,
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			writeError(w, apierrors.NewServiceUnavailable(fmt.Sprintf("error reaching the kubelet of node %s: %v", pod.Spec.NodeName, err)))
		},
	}
	proxy.ServeHTTP(w, r)
}

// serveLogsWebSocket answers pods/NAME/log asked over a WebSocket as kube-apiserver does:
// it reads the log from the kubelet and writes it to the WebSocket as it comes, in binary
// messages (subprotocol "" or binary.k8s.io) or base64 text ones (base64.binary.k8s.io),
// without channel bytes — a log is one stream.
func (s *Server) serveLogsWebSocket(w http.ResponseWriter, r *http.Request, target *url.URL, rt http.RoundTripper, node string) {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, target.String(), nil)
	if err != nil {
		writeError(w, apierrors.NewInternalError(err))
		return
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		writeError(w, apierrors.NewServiceUnavailable(fmt.Sprintf("error reaching the kubelet of node %s: %v", node, err)))
		return
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		msg := strings.TrimSpace(string(b))
		if resp.StatusCode == http.StatusNotFound {
			writeError(w, apierrors.NewNotFound(corev1.Resource("pods/log"), msg))
			return
		}
		writeError(w, apierrors.NewBadRequest(msg))
		return
	}
	_ = wsstream.NewReader(resp.Body, true, wsstream.NewDefaultReaderProtocols()).Copy(w, r)
}

// podKubelet locates the kubelet of the node pod is bound to: a pod without a node is 400, a
// node that does not exist (or has no kubelet endpoint) is 503.
func (s *Server) podKubelet(ctx context.Context, pod *corev1.Pod) (*url.URL, http.RoundTripper, error) {
	if pod.Spec.NodeName == "" {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", pod.Name))
	}
	nodeRes := s.registry().Lookup(corev1.SchemeGroupVersion.WithResource("nodes"))
	nodeObj, err := s.objects.Get(ctx, nodeRes, "", pod.Spec.NodeName)
	if apierrors.IsNotFound(err) {
		return nil, nil, apierrors.NewServiceUnavailable(fmt.Sprintf("node %s of pod %s does not exist", pod.Spec.NodeName, pod.Name))
	}
	if err != nil {
		return nil, nil, err
	}
	return s.cfg.NodeConnection.KubeletLocation(ctx, nodeObj.(*corev1.Node))
}

func hasContainer(pod *corev1.Pod, name string) bool {
	for _, list := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for _, c := range list {
			if c.Name == name {
				return true
			}
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		if c.Name == name {
			return true
		}
	}
	return false
}

// validatePodLogOptions checks the options of pods/NAME/log as kube-apiserver does
// (ValidatePodLogOptions): tailLines not negative, limitBytes and sinceSeconds at least 1, and
// not both sinceSeconds and sinceTime. A violation is 422 Invalid with every field; a value
// that is not a number is 400.
func validatePodLogOptions(name string, q url.Values) error {
	integer := func(key string) (*int64, error) {
		v := q.Get(key)
		if v == "" {
			return nil, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid %s %q: %v", key, v, err))
		}
		return &n, nil
	}
	tail, err := integer("tailLines")
	if err != nil {
		return err
	}
	limit, err := integer("limitBytes")
	if err != nil {
		return err
	}
	since, err := integer("sinceSeconds")
	if err != nil {
		return err
	}
	var errs field.ErrorList
	if tail != nil && *tail < 0 {
		errs = append(errs, field.Invalid(field.NewPath("tailLines"), *tail, "must be greater than or equal to 0"))
	}
	if limit != nil && *limit < 1 {
		errs = append(errs, field.Invalid(field.NewPath("limitBytes"), *limit, "must be greater than 0"))
	}
	switch {
	case since != nil && q.Get("sinceTime") != "":
		errs = append(errs, field.Forbidden(field.NewPath(""), "at most one of `sinceTime` or `sinceSeconds` may be specified"))
	case since != nil && *since < 1:
		errs = append(errs, field.Invalid(field.NewPath("sinceSeconds"), *since, "must be greater than 0"))
	}
	if len(errs) > 0 {
		return apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("PodLogOptions").GroupKind(), name, errs)
	}
	return nil
}

// connectAttributes describes a CONNECT of pods/NAME/exec or /attach for admission: the
// PodExecOptions or PodAttachOptions of the request's query, as kube-apiserver decodes them.
func (s *Server) connectAttributes(ctx context.Context, req request, sub string, q url.Values) admission.Attributes {
	container := q.Get("container")
	flag := func(name string) bool {
		v, _ := strconv.ParseBool(q.Get(name))
		return v
	}
	var opts runtime.Object
	kind := "PodAttachOptions"
	if sub == "exec" {
		kind = "PodExecOptions"
		opts = &corev1.PodExecOptions{Stdin: flag("stdin"), Stdout: flag("stdout"), Stderr: flag("stderr"), TTY: flag("tty"),
			Container: container, Command: q["command"]}
	} else {
		opts = &corev1.PodAttachOptions{Stdin: flag("stdin"), Stdout: flag("stdout"), Stderr: flag("stderr"), TTY: flag("tty"),
			Container: container}
	}
	opts.GetObjectKind().SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind(kind))
	return admission.NewAttributesRecord(opts, nil, corev1.SchemeGroupVersion.WithKind(kind), req.namespace, req.name,
		req.res.GroupVersionResource, sub, admission.Connect, nil, false, requestUser(ctx))
}
