package interfaces

import (
	"context"
	"net/netip"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Service proxy contracts.
//
// A proxy (kube-proxy's role) is a Component built from a *rest.Config and a node name. It
// watches Services and EndpointSlices and hands a ProxyDataplane the complete desired state of
// the node's virtual services, every time that state changes. The dataplane programs it:
// nftables in reference/proxy, or anything else (eBPF, a userspace forwarder) that passes the
// proxy specs of conformance (label "proxy").

// ProxyEndpoint is one backend of a virtual service.
type ProxyEndpoint struct {
	// IP and Port are where connections are sent (the Pod's IP and the resolved target port).
	IP   netip.Addr
	Port uint16
	// Ready says the endpoint may receive new connections. The proxy has already applied
	// Kubernetes' rules (conditions.ready, and the fallback to serving terminating endpoints when
	// no endpoint is ready): a dataplane MUST NOT send a new connection to an endpoint that is
	// not Ready, and MAY keep established connections to it.
	Ready bool
	// Serving and Terminating are the EndpointSlice conditions, for dataplanes that want them.
	Serving     bool
	Terminating bool
	// NodeName is the node the endpoint runs on, when the EndpointSlice says.
	NodeName string
}

// VirtualService is one port of one Service: the unit a dataplane programs.
type VirtualService struct {
	// Name identifies the port: "namespace/name:portName" ("namespace/name:" for an unnamed
	// port; "…@external" for the NodePort of an ExternalLocal service). Unique within a
	// ProxyState.
	Name string
	// ClusterIP is the Service's virtual IP; invalid (zero) for a service reached only by
	// NodePort.
	ClusterIP netip.Addr
	// Port is the Service port on the ClusterIP.
	Port uint16
	// Protocol is TCP, UDP or SCTP.
	Protocol corev1.Protocol
	// NodePort, when non-zero, is also served on every address in ProxyState.NodeIPs.
	NodePort uint16
	// AffinityTimeout, when non-zero, asks for ClientIP session affinity: new connections from
	// a client IP go to the endpoint its last connection went to, while that endpoint is Ready
	// and the client was seen within the timeout.
	AffinityTimeout time.Duration
	// ExternalLocal (a Service with externalTrafficPolicy: Local) asks that NodePort
	// connections keep the client's source address: they MUST NOT be masqueraded. The proxy
	// hands such a Service's NodePort as a virtual service of its own, named "…@external",
	// with no ClusterIP and only the endpoints on this node; its ClusterIP stays in the
	// virtual service without the suffix, with every endpoint and no NodePort.
	ExternalLocal bool
	// Endpoints are the backends. With no Ready endpoint, new connections MUST be rejected
	// at once (TCP reset or ICMP port unreachable), never left to time out.
	Endpoints []ProxyEndpoint
}

// ProxyState is the complete desired state of a node's dataplane.
type ProxyState struct {
	// Services are every virtual service, sorted by Name.
	Services []VirtualService
	// NodeIPs are the node's addresses, where NodePorts are served.
	NodeIPs []netip.Addr
}

// ProxyDataplane programs virtual services into a node.
//
// Sync makes the dataplane serve exactly state: what is missing is added, what changed is
// changed, what is absent from state is removed. Each call carries the complete state; the
// dataplane may apply only the difference from the previous call (and should: one endpoint
// change in a large cluster must not reprogram everything). A Sync after a restart of the
// process (a new dataplane value over a node that is already programmed) MUST take over what is
// there without interrupting established connections. Sync is not called concurrently.
//
// Cleanup removes everything the dataplane programmed (on a clean exit). A dataplane must
// touch nothing but its own state (for nftables: its own table).
type ProxyDataplane interface {
	Sync(ctx context.Context, state ProxyState) error
	Cleanup(ctx context.Context) error
}
