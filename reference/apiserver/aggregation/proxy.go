package aggregation

import (
	"fmt"
	"net/http"
	"net/url"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/util/proxy"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"
	genericrequest "k8s.io/apiserver/pkg/endpoints/request"
	apiserverproxy "k8s.io/apiserver/pkg/util/proxy"
	"k8s.io/client-go/transport"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	apiregistrationv1helper "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1/helper"
	"k8s.io/kube-aggregator/pkg/controllers/status/remote"
)

// Proxy serves r, a request under /apis/GROUP/VERSION that the server has authenticated and
// authorized, when an APIService backed by a Service claims gv, and reports whether it did: it
// answers 503 while the APIService is not Available, else proxies the request (upgrades and
// watches included) to an endpoint of the Service over TLS verified with the APIService's
// caBundle, as the front-proxy client, with the requester in the X-Remote-* headers.
func (a *Aggregator) Proxy(w http.ResponseWriter, r *http.Request, gv schema.GroupVersion) bool {
	svc := a.remoteAPIService(gv)
	if svc == nil {
		return false
	}
	if !apiregistrationv1helper.IsAPIServiceConditionTrue(svc, apiregistrationv1.Available) {
		writeStatus(w, apierrors.NewServiceUnavailable("service unavailable"))
		return true
	}
	u, ok := genericrequest.UserFrom(r.Context())
	if !ok {
		writeStatus(w, apierrors.NewInternalError(fmt.Errorf("missing user")))
		return true
	}
	ref := svc.Spec.Service
	port := int32(443)
	if ref.Port != nil {
		port = *ref.Port
	}
	endpoint, err := a.resolver.ResolveEndpoint(ref.Namespace, ref.Name, port)
	if err != nil {
		a.opts.ErrorLog("aggregation: resolving %s/%s for %s: %v", ref.Namespace, ref.Name, svc.Name, err)
		writeStatus(w, apierrors.NewServiceUnavailable("service unavailable"))
		return true
	}
	rt, err := a.transport(svc)
	if err != nil {
		writeStatus(w, apierrors.NewInternalError(err))
		return true
	}
	location := &url.URL{Scheme: "https", Host: endpoint.Host, Path: r.URL.Path, RawQuery: r.URL.Query().Encode()}
	out, cancel := apiserverproxy.NewRequestForProxy(location, r)
	defer cancel()
	upgrade := httpstream.IsUpgradeRequest(r)
	rt = transport.NewAuthProxyRoundTripper(u.GetName(), u.GetUID(), u.GetGroups(), u.GetExtra(), rt)
	if upgrade {
		// An upgrade dials directly with the transport's TLS configuration, bypassing the
		// round tripper: the identity headers go on the request itself.
		transport.SetAuthProxyHeaders(out, u.GetName(), u.GetUID(), u.GetGroups(), u.GetExtra())
	}
	h := proxy.NewUpgradeAwareHandler(location, rt, true, upgrade, responder{w: w})
	h.ServeHTTP(w, out)
	return true
}

// remoteAPIService returns the APIService of gv when a Service backs it.
func (a *Aggregator) remoteAPIService(gv schema.GroupVersion) *apiregistrationv1.APIService {
	l := a.lister()
	if l == nil || gv.Group == "" {
		return nil
	}
	svc, err := l.Get(gv.Version + "." + gv.Group)
	if err != nil || svc.Spec.Service == nil {
		return nil
	}
	return svc
}

type transportEntry struct {
	resourceVersion string
	rt              http.RoundTripper
}

// transport returns the round tripper of svc's current spec (CA bundle, server name), built
// by upstream's BuildTransportConfig with the front-proxy client certificate.
func (a *Aggregator) transport(svc *apiregistrationv1.APIService) (http.RoundTripper, error) {
	if v, ok := a.transports.Load(svc.Name); ok {
		if e := v.(transportEntry); e.resourceVersion == svc.ResourceVersion {
			return e.rt, nil
		}
	}
	rt, err := transport.New(remote.BuildTransportConfig(a.dial, a.opts.FrontProxyCert, a.opts.FrontProxyKey, svc))
	if err != nil {
		return nil, fmt.Errorf("aggregation: transport for APIService %s: %w", svc.Name, err)
	}
	a.transports.Store(svc.Name, transportEntry{resourceVersion: svc.ResourceVersion, rt: rt})
	return rt, nil
}

// responder writes the proxy's own errors (an extension server that cannot be reached).
type responder struct{ w http.ResponseWriter }

func (r responder) Object(code int, obj runtime.Object) { responsewriters.WriteRawJSON(code, obj, r.w) }

func (r responder) Error(_ http.ResponseWriter, _ *http.Request, err error) {
	writeStatus(r.w, apierrors.NewServiceUnavailable(err.Error()))
}

func writeStatus(w http.ResponseWriter, err *apierrors.StatusError) {
	st := err.Status()
	st.Kind, st.APIVersion = "Status", "v1"
	responsewriters.WriteRawJSON(int(st.Code), &st, w)
}
