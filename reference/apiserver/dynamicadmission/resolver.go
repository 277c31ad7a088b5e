package dynamicadmission

import (
	"fmt"
	"net"
	"net/url"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
)

// serviceResolver resolves a webhook's Service to the address of one of its ready endpoints,
// as kube-apiserver with --enable-aggregator-routing, and falls back to the ClusterIP when the
// Service has no selector-made endpoints (an ExternalName Service resolves to its name).
type serviceResolver struct {
	services corelisters.ServiceLister
	slices   discoverylisters.EndpointSliceLister
}

func (r serviceResolver) ResolveEndpoint(namespace, name string, port int32) (*url.URL, error) {
	svc, err := r.services.Services(namespace).Get(name)
	if err != nil {
		return nil, fmt.Errorf("resolving webhook service %s/%s: %w", namespace, name, err)
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return &url.URL{Scheme: "https", Host: net.JoinHostPort(svc.Spec.ExternalName, strconv.Itoa(int(port)))}, nil
	}
	var svcPort *corev1.ServicePort
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].Port == port {
			svcPort = &svc.Spec.Ports[i]
			break
		}
	}
	if svcPort == nil {
		return nil, apierrors.NewServiceUnavailable(fmt.Sprintf("no service port %d found for service %q", port, name))
	}
	if host, ok := r.endpoint(svc, svcPort); ok {
		return &url.URL{Scheme: "https", Host: host}, nil
	}
	if svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone {
		return nil, apierrors.NewServiceUnavailable(fmt.Sprintf("no endpoints available for service %q", name))
	}
	return &url.URL{Scheme: "https", Host: net.JoinHostPort(svc.Spec.ClusterIP, strconv.Itoa(int(port)))}, nil
}

// endpoint returns host:port of the first ready endpoint serving the Service's port.
func (r serviceResolver) endpoint(svc *corev1.Service, sp *corev1.ServicePort) (string, bool) {
	sel := labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: svc.Name})
	slices, err := r.slices.EndpointSlices(svc.Namespace).List(sel)
	if err != nil {
		return "", false
	}
	for _, s := range slices {
		var target *int32
		for _, p := range s.Ports {
			if p.Port != nil && ptrString(p.Name) == sp.Name {
				target = p.Port
				break
			}
		}
		if target == nil {
			continue
		}
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			if len(ep.Addresses) > 0 {
				return net.JoinHostPort(ep.Addresses[0], strconv.Itoa(int(*target))), true
			}
		}
	}
	return "", false
}

func ptrString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// NewServiceResolver returns the webhooks' resolution of a Service to an address (a ready
// endpoint, else the ClusterIP; an ExternalName Service to its name) over the given listers,
// for other callers of services (the aggregation layer).
func NewServiceResolver(services corelisters.ServiceLister, slices discoverylisters.EndpointSliceLister) interface {
	ResolveEndpoint(namespace, name string, port int32) (*url.URL, error)
} {
	return serviceResolver{services: services, slices: slices}
}
