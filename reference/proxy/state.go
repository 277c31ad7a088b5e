package proxy

import (
	"net/netip"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/clusterkit/clusterkit/interfaces"
)

// DesiredState computes the virtual services of a node from Services and EndpointSlices, with
// Kubernetes' rules:
//   - headless (clusterIP None) and ExternalName services, and services without a ClusterIP or
//     NodePort, get nothing;
//   - an EndpointSlice belongs to the service named by its kubernetes.io/service-name label in
//     its namespace; its ports match a service port by name and protocol; only IPv4 slices count;
//   - an endpoint is Ready when conditions.ready is true or unset; when a service port has no
//     ready endpoint at all, its serving terminating endpoints are used instead (Kubernetes'
//     terminating-endpoint fallback);
//   - the same IP:port listed by several slices counts once (ready if any says ready);
//   - the NodePort of a Service with externalTrafficPolicy: Local becomes a virtual service of
//     its own ("…@external", ExternalLocal) with only the endpoints on node (and the
//     terminating fallback applied among those), and the ClusterIP keeps every endpoint.
func DesiredState(services []*corev1.Service, slices []*discoveryv1.EndpointSlice, node string, nodeIPs []netip.Addr) interfaces.ProxyState {
	bySvc := map[string][]*discoveryv1.EndpointSlice{}
	for _, s := range slices {
		if s.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		name := s.Labels[discoveryv1.LabelServiceName]
		if name == "" {
			continue
		}
		bySvc[s.Namespace+"/"+name] = append(bySvc[s.Namespace+"/"+name], s)
	}
	var out interfaces.ProxyState
	for _, svc := range services {
		if svc.Spec.Type == corev1.ServiceTypeExternalName || svc.Spec.ClusterIP == corev1.ClusterIPNone {
			continue
		}
		cip, _ := netip.ParseAddr(svc.Spec.ClusterIP)
		var affinity time.Duration
		if svc.Spec.SessionAffinity == corev1.ServiceAffinityClientIP {
			affinity = 10800 * time.Second
			if c := svc.Spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil {
				affinity = time.Duration(*c.ClientIP.TimeoutSeconds) * time.Second
			}
		}
		key := svc.Namespace + "/" + svc.Name
		for _, sp := range svc.Spec.Ports {
			proto := sp.Protocol
			if proto == "" {
				proto = corev1.ProtocolTCP
			}
			vs := interfaces.VirtualService{
				Name: key + ":" + sp.Name, Port: uint16(sp.Port), Protocol: proto,
				AffinityTimeout: affinity, Endpoints: endpointsFor(bySvc[key], sp.Name, proto, ""),
			}
			if cip.Is4() {
				vs.ClusterIP = cip
			}
			nodePort := uint16(0)
			if svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
				nodePort = uint16(sp.NodePort)
			}
			if nodePort != 0 && svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal {
				out.Services = append(out.Services, interfaces.VirtualService{
					Name: vs.Name + "@external", Port: vs.Port, Protocol: proto, NodePort: nodePort, ExternalLocal: true,
					AffinityTimeout: affinity, Endpoints: endpointsFor(bySvc[key], sp.Name, proto, node),
				})
				nodePort = 0
			}
			vs.NodePort = nodePort
			if !vs.ClusterIP.IsValid() && vs.NodePort == 0 {
				continue
			}
			out.Services = append(out.Services, vs)
		}
	}
	sort.Slice(out.Services, func(i, j int) bool { return out.Services[i].Name < out.Services[j].Name })
	out.NodeIPs = append(out.NodeIPs, nodeIPs...)
	return out
}

// endpointsFor collects a service port's endpoints from its slices; with node set, only the
// endpoints on that node.
func endpointsFor(slices []*discoveryv1.EndpointSlice, portName string, proto corev1.Protocol, node string) []interfaces.ProxyEndpoint {
	type agg struct {
		ep    interfaces.ProxyEndpoint
		order int
	}
	found := map[netip.AddrPort]*agg{}
	for _, s := range slices {
		var port uint16
		ok := false
		for _, p := range s.Ports {
			pn := ""
			if p.Name != nil {
				pn = *p.Name
			}
			pp := corev1.ProtocolTCP
			if p.Protocol != nil {
				pp = *p.Protocol
			}
			if pn == portName && pp == proto && p.Port != nil {
				port, ok = uint16(*p.Port), true
				break
			}
		}
		if !ok {
			continue
		}
		for _, e := range s.Endpoints {
			ready := e.Conditions.Ready == nil || *e.Conditions.Ready
			serving := ready
			if e.Conditions.Serving != nil {
				serving = *e.Conditions.Serving
			}
			terminating := e.Conditions.Terminating != nil && *e.Conditions.Terminating
			epNode := ""
			if e.NodeName != nil {
				epNode = *e.NodeName
			}
			if node != "" && epNode != node {
				continue
			}
			for _, a := range e.Addresses {
				ip, err := netip.ParseAddr(a)
				if err != nil || !ip.Is4() {
					continue
				}
				k := netip.AddrPortFrom(ip, port)
				if cur, dup := found[k]; dup {
					cur.ep.Ready = cur.ep.Ready || ready
					cur.ep.Serving = cur.ep.Serving || serving
					cur.ep.Terminating = cur.ep.Terminating && terminating
					continue
				}
				found[k] = &agg{ep: interfaces.ProxyEndpoint{IP: ip, Port: port, Ready: ready, Serving: serving, Terminating: terminating, NodeName: epNode}, order: len(found)}
			}
		}
	}
	eps := make([]interfaces.ProxyEndpoint, 0, len(found))
	anyReady := false
	for _, a := range found {
		eps = append(eps, a.ep)
		anyReady = anyReady || a.ep.Ready
	}
	if !anyReady {
		for i := range eps {
			if eps[i].Serving && eps[i].Terminating {
				eps[i].Ready = true
			}
		}
	}
	sort.Slice(eps, func(i, j int) bool {
		return netip.AddrPortFrom(eps[i].IP, eps[i].Port).String() < netip.AddrPortFrom(eps[j].IP, eps[j].Port).String()
	})
	return eps
}
