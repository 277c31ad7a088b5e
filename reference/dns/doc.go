// Package dns holds clusterkit's cluster DNS: a DNS server that answers the Kubernetes DNS
// schema (https://github.com/kubernetes/dns/blob/master/docs/specification.md) from the API
// through client-go informers, and the add-on that runs it in a cluster as kubeadm runs
// CoreDNS (Deployment coredns behind Service kube-dns at the Service CIDR's 10th address).
//
// Under the cluster domain (cluster.local by default) the Server answers:
//
//   - svc.ns.svc.DOMAIN: A/AAAA of a ClusterIP Service's cluster IPs; of a headless Service,
//     the addresses of its ready endpoints (EndpointSlices); a CNAME for an ExternalName
//     Service; SRV for each named port;
//   - hostname.svc.ns.svc.DOMAIN: a headless Service's endpoint by its hostname (or by its
//     address with dashes, a-b-c-d);
//   - _port._proto.svc.ns.svc.DOMAIN: SRV of a named port;
//   - a-b-c-d.ns.pod.DOMAIN: A of the address written in the name (CoreDNS's "pods insecure");
//   - dns-version.DOMAIN: TXT of the schema version;
//   - PTR under in-addr.arpa and ip6.arpa for Service cluster IPs and headless endpoints.
//
// A name under the domain that does not exist is NXDOMAIN; one that exists without records of
// the asked type is NOERROR with no answer (NODATA), both with the zone's SOA. Any other name
// is forwarded to the upstream resolvers (those of /etc/resolv.conf in the add-on); with none
// the answer is REFUSED.
package dns
