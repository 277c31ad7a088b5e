package apiserver

import (
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/proxy"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/admission"
	utilproxy "k8s.io/apiserver/pkg/util/proxy"
	"k8s.io/streaming/pkg/httpstream/wsstream"
)

// servePortForward answers pods/NAME/portforward as kube-apiserver does: CONNECT admission with
// the PodPortForwardOptions of the query, then the connection is proxied to the pod's kubelet
// (/portForward/NS/POD), which hands it to the runtime's streaming server. A WebSocket request
// carrying the tunnelling subprotocols (kubectl ≥ 1.30: SPDY/3.1+portforward.k8s.io inside a
// WebSocket) is unwrapped here, by k8s.io/apiserver's tunnelling handler, into the SPDY upgrade
// kubelets speak; plain SPDY upgrades and plain WebSocket ones (portforward.k8s.io's v4
// channel protocol, which CRI streaming servers speak) pass through.
func (s *Server) servePortForward(w http.ResponseWriter, r *http.Request, req request) {
	gr := req.res.GroupResource()
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		writeError(w, apierrors.NewMethodNotSupported(gr, strings.ToLower(r.Method)))
		return
	}
	ctx := r.Context()
	q := r.URL.Query()
	opts := &corev1.PodPortForwardOptions{}
	var errs field.ErrorList
	for i, p := range q["ports"] {
		n, err := strconv.ParseInt(p, 10, 32)
		if err != nil || n < 1 || n > 65535 {
			errs = append(errs, field.Invalid(field.NewPath("ports").Index(i), p, "must be a port number between 1 and 65535"))
			continue
		}
		opts.Ports = append(opts.Ports, int32(n))
	}
	if len(errs) > 0 {
		writeError(w, apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("PodPortForwardOptions").GroupKind(), req.name, errs))
		return
	}
	opts.GetObjectKind().SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("PodPortForwardOptions"))
	a := admission.NewAttributesRecord(opts, nil, corev1.SchemeGroupVersion.WithKind("PodPortForwardOptions"), req.namespace, req.name,
		req.res.GroupVersionResource, "portforward", admission.Connect, nil, false, requestUser(ctx))
	if err := s.admitMutating(ctx, a); err != nil {
		writeError(w, err)
		return
	}
	if err := s.admitValidating(ctx, a); err != nil {
		writeError(w, err)
		return
	}
	obj, err := s.objects.Get(ctx, req.res, req.namespace, req.name)
	if err != nil {
		writeError(w, err)
		return
	}
	pod := obj.(*corev1.Pod)
	base, rt, err := s.podKubelet(ctx, pod)
	if err != nil {
		writeError(w, err)
		return
	}
	target := *base
	target.Path = strings.TrimSuffix(base.Path, "/") + "/portForward/" + url.PathEscape(pod.Namespace) + "/" + url.PathEscape(pod.Name)
	target.RawQuery = q.Encode()
	var h http.Handler = &httputil.ReverseProxy{
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
	if wsstream.IsWebSocketRequestWithTunnelingProtocol(r) {
		// The tunnelling handler hands a bare net.Conn to its delegate, which must write the
		// kubelet's upgrade response to it itself: apimachinery's upgrade-aware proxy does.
		up := proxy.NewUpgradeAwareHandler(&target, rt, false, true, tunnelError{node: pod.Spec.NodeName})
		h = utilproxy.NewTunnelingHandler(up)
	}
	h.ServeHTTP(w, r)
}

// tunnelError answers a failed upgrade to the kubelet as a Status.
type tunnelError struct{ node string }

func (t tunnelError) Error(w http.ResponseWriter, _ *http.Request, err error) {
	writeError(w, apierrors.NewServiceUnavailable(fmt.Sprintf("error reaching the kubelet of node %s: %v", t.node, err)))
}
