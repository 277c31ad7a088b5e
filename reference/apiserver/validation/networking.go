package validation

import (
	"fmt"
	"net"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ---- networking.k8s.io/v1: Ingress, IngressClass, NetworkPolicy ----

// IngressKind is the strategy of networking.k8s.io/v1 Ingress (status split: writes to the
// main resource keep status.loadBalancer; /status writes keep the spec).
func IngressKind() *Kind[*networkingv1.Ingress] {
	return &Kind[*networkingv1.Ingress]{
		Create: validateIngressCreate,
		Update: func(n, _ *networkingv1.Ingress) field.ErrorList {
			// The ingress-class annotation check is a create-only rule upstream; the spec is
			// re-validated by Validate.
			return nil
		},
		Status: func(n, _ *networkingv1.Ingress) field.ErrorList {
			return validateIngressLoadBalancer(n.Status.LoadBalancer.Ingress, field.NewPath("status", "loadBalancer", "ingress"))
		},
		PrepareCreate: func(i *networkingv1.Ingress) { i.Status = networkingv1.IngressStatus{} },
		PrepareUpdate: func(n, o *networkingv1.Ingress) { n.Status = o.Status },
		PrepareStatus: func(n, o *networkingv1.Ingress) { n.Spec = o.Spec },
	}
}

// ingressClassAnnotation is the deprecated annotation naming an Ingress's class.
const ingressClassAnnotation = "kubernetes.io/ingress.class"

var (
	invalidIngressPathSequences = []string{"//", "/./", "/../", "%2f", "%2F"}
	invalidIngressPathSuffixes  = []string{"/..", "/."}
	ingressPathTypes            = []string{string(networkingv1.PathTypeExact), string(networkingv1.PathTypeImplementationSpecific), string(networkingv1.PathTypePrefix)}
)

func validateIngressCreate(ing *networkingv1.Ingress) field.ErrorList {
	errs := validateIngressSpec(&ing.Spec, field.NewPath("spec"))
	if v, ok := ing.Annotations[ingressClassAnnotation]; ok && ing.Spec.IngressClassName != nil && v != *ing.Spec.IngressClassName {
		errs = append(errs, field.Invalid(field.NewPath("annotations").Child(ingressClassAnnotation), v, "must match `ingressClassName` when both are specified"))
	}
	return errs
}

// validateIngressSpec: a default backend or rules; each backend names exactly one of service
// and resource; paths by pathType; hosts DNS names (wildcards allowed), not IPs; TLS hosts and
// secret names; ingressClassName a DNS subdomain.
func validateIngressSpec(spec *networkingv1.IngressSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(spec.Rules) == 0 && spec.DefaultBackend == nil {
		errs = append(errs, field.Invalid(p, spec.Rules, "either `defaultBackend` or `rules` must be specified"))
	}
	if spec.DefaultBackend != nil {
		errs = append(errs, validateIngressBackend(spec.DefaultBackend, p.Child("defaultBackend"))...)
	}
	for i, rule := range spec.Rules {
		rp := p.Child("rules").Index(i)
		if rule.Host != "" {
			hp := rp.Child("host")
			if net.ParseIP(rule.Host) != nil {
				errs = append(errs, field.Invalid(hp, rule.Host, "must be a DNS name, not an IP address"))
			}
			if strings.Contains(rule.Host, "*") {
				errs = append(errs, invalidMsgs(hp, rule.Host, validation.IsWildcardDNS1123Subdomain(rule.Host))...)
			} else {
				errs = append(errs, invalidMsgs(hp, rule.Host, validation.IsDNS1123Subdomain(rule.Host))...)
			}
		}
		if rule.HTTP == nil {
			continue
		}
		hp := rp.Child("http")
		if len(rule.HTTP.Paths) == 0 {
			errs = append(errs, field.Required(hp.Child("paths"), ""))
		}
		for j := range rule.HTTP.Paths {
			errs = append(errs, validateIngressPath(&rule.HTTP.Paths[j], hp.Child("paths").Index(j))...)
		}
	}
	for i, tls := range spec.TLS {
		tp := p.Child("tls").Index(i)
		for j, host := range tls.Hosts {
			if strings.Contains(host, "*") {
				errs = append(errs, invalidMsgs(tp.Child("hosts").Index(j), host, validation.IsWildcardDNS1123Subdomain(host))...)
			} else {
				errs = append(errs, invalidMsgs(tp.Child("hosts").Index(j), host, validation.IsDNS1123Subdomain(host))...)
			}
		}
		if tls.SecretName != "" {
			errs = append(errs, invalidMsgs(tp.Child("secretName"), tls.SecretName, apimachineryvalidation.NameIsDNSSubdomain(tls.SecretName, false))...)
		}
	}
	if spec.IngressClassName != nil {
		errs = append(errs, invalidMsgs(p.Child("ingressClassName"), *spec.IngressClassName, apimachineryvalidation.NameIsDNSSubdomain(*spec.IngressClassName, false))...)
	}
	return errs
}

func validateIngressPath(path *networkingv1.HTTPIngressPath, p *field.Path) field.ErrorList {
	if path.PathType == nil {
		return field.ErrorList{field.Required(p.Child("pathType"), "pathType must be specified")}
	}
	var errs field.ErrorList
	pp := p.Child("path")
	switch *path.PathType {
	case networkingv1.PathTypeExact, networkingv1.PathTypePrefix:
		if !strings.HasPrefix(path.Path, "/") {
			errs = append(errs, field.Invalid(pp, path.Path, "must be an absolute path"))
		}
		if path.Path != "" {
			for _, seq := range invalidIngressPathSequences {
				if strings.Contains(path.Path, seq) {
					errs = append(errs, field.Invalid(pp, path.Path, fmt.Sprintf("must not contain '%s'", seq)))
				}
			}
			for _, suf := range invalidIngressPathSuffixes {
				if strings.HasSuffix(path.Path, suf) {
					errs = append(errs, field.Invalid(pp, path.Path, fmt.Sprintf("cannot end with '%s'", suf)))
				}
			}
		}
	case networkingv1.PathTypeImplementationSpecific:
		if path.Path != "" && !strings.HasPrefix(path.Path, "/") {
			errs = append(errs, field.Invalid(pp, path.Path, "must be an absolute path"))
		}
	default:
		errs = append(errs, field.NotSupported(p.Child("pathType"), *path.PathType, ingressPathTypes))
	}
	return append(errs, validateIngressBackend(&path.Backend, p.Child("backend"))...)
}

// validateIngressBackend: exactly one of service (a DNS-1123 label name and one of port name
// and number) and resource (a typed local object reference).
func validateIngressBackend(b *networkingv1.IngressBackend, p *field.Path) field.ErrorList {
	switch {
	case b.Resource != nil && b.Service != nil:
		return field.ErrorList{field.Invalid(p, "", "cannot set both resource and service backends")}
	case b.Resource != nil:
		return validateTypedLocalObjectReference(b.Resource.APIGroup, b.Resource.Kind, b.Resource.Name, p.Child("resource"))
	case b.Service != nil:
		var errs field.ErrorList
		if b.Service.Name == "" {
			errs = append(errs, field.Required(p.Child("service", "name"), ""))
		} else {
			errs = append(errs, invalidMsgs(p.Child("service", "name"), b.Service.Name, apimachineryvalidation.NameIsDNSLabel(b.Service.Name, false))...)
		}
		port := b.Service.Port
		switch {
		case port.Name != "" && port.Number != 0:
			errs = append(errs, field.Invalid(p, "", "cannot set both port name & port number"))
		case port.Name != "":
			errs = append(errs, invalidMsgs(p.Child("service", "port", "name"), port.Name, validation.IsValidPortName(port.Name))...)
		case port.Number != 0:
			errs = append(errs, invalidMsgs(p.Child("service", "port", "number"), port.Number, validation.IsValidPortNum(int(port.Number)))...)
		default:
			errs = append(errs, field.Required(p, "port name or number is required"))
		}
		return errs
	default:
		return field.ErrorList{field.Invalid(p, "", "resource or service backend is required")}
	}
}

func validateTypedLocalObjectReference(apiGroup *string, kind, name string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if apiGroup != nil {
		errs = append(errs, invalidMsgs(p.Child("apiGroup"), *apiGroup, validation.IsDNS1123Subdomain(*apiGroup))...)
	}
	if kind == "" {
		errs = append(errs, field.Required(p.Child("kind"), ""))
	} else {
		errs = append(errs, invalidMsgs(p.Child("kind"), kind, content.IsPathSegmentName(kind))...)
	}
	if name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	} else {
		errs = append(errs, invalidMsgs(p.Child("name"), name, content.IsPathSegmentName(name))...)
	}
	return errs
}

func validateIngressLoadBalancer(ingresses []networkingv1.IngressLoadBalancerIngress, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, in := range ingresses {
		ip := p.Index(i)
		if in.IP != "" {
			errs = append(errs, validation.IsValidIP(ip.Child("ip"), in.IP)...)
		}
		if in.Hostname != "" {
			errs = append(errs, invalidMsgs(ip.Child("hostname"), in.Hostname, validation.IsDNS1123Subdomain(in.Hostname))...)
			if net.ParseIP(in.Hostname) != nil {
				errs = append(errs, field.Invalid(ip.Child("hostname"), in.Hostname, "must be a DNS name, not an IP address"))
			}
		}
	}
	return errs
}

// IngressClassKind is the strategy of networking.k8s.io/v1 IngressClass: spec.controller is a
// domain-prefixed path of at most 250 characters and immutable; parameters name a kind and
// object with a Cluster (default) or Namespace scope.
func IngressClassKind() *Kind[*networkingv1.IngressClass] {
	return &Kind[*networkingv1.IngressClass]{
		ClusterScoped: true,
		Defaults: func(ic *networkingv1.IngressClass) {
			if ic.Spec.Parameters != nil && ic.Spec.Parameters.Scope == nil {
				ic.Spec.Parameters.Scope = ptrTo(networkingv1.IngressClassParametersReferenceScopeCluster)
			}
		},
		Create: validateIngressClass,
		Update: func(n, o *networkingv1.IngressClass) field.ErrorList {
			return apimachineryvalidation.ValidateImmutableField(n.Spec.Controller, o.Spec.Controller, field.NewPath("spec", "controller"))
		},
	}
}

const maxIngressClassControllerLen = 250

func validateIngressClass(ic *networkingv1.IngressClass) field.ErrorList {
	var errs field.ErrorList
	cp := field.NewPath("spec", "controller")
	if len(ic.Spec.Controller) > maxIngressClassControllerLen {
		errs = append(errs, field.TooLong(cp, "", maxIngressClassControllerLen))
	}
	errs = append(errs, validation.IsDomainPrefixedPath(cp, ic.Spec.Controller)...)
	if params := ic.Spec.Parameters; params != nil {
		pp := field.NewPath("spec", "parameters")
		errs = append(errs, validateTypedLocalObjectReference(params.APIGroup, params.Kind, params.Name, pp)...)
		if params.Scope == nil {
			errs = append(errs, field.Required(pp.Child("scope"), ""))
			return errs
		}
		switch *params.Scope {
		case networkingv1.IngressClassParametersReferenceScopeNamespace:
			if params.Namespace == nil {
				errs = append(errs, field.Required(pp.Child("namespace"), "`parameters.scope` is set to 'Namespace'"))
			} else {
				errs = append(errs, invalidMsgs(pp.Child("namespace"), *params.Namespace, apimachineryvalidation.ValidateNamespaceName(*params.Namespace, false))...)
			}
		case networkingv1.IngressClassParametersReferenceScopeCluster:
			if params.Namespace != nil {
				errs = append(errs, field.Forbidden(pp.Child("namespace"), "`parameters.scope` is set to 'Cluster'"))
			}
		default:
			errs = append(errs, field.NotSupported(pp.Child("scope"), *params.Scope, []string{
				networkingv1.IngressClassParametersReferenceScopeCluster, networkingv1.IngressClassParametersReferenceScopeNamespace}))
		}
	}
	return errs
}

// NetworkPolicyKind is the strategy of networking.k8s.io/v1 NetworkPolicy: ports' protocol
// defaults to TCP and policyTypes to Ingress (plus Egress with egress rules).
func NetworkPolicyKind() *Kind[*networkingv1.NetworkPolicy] {
	return &Kind[*networkingv1.NetworkPolicy]{
		Defaults: defaultNetworkPolicy,
		Create:   validateNetworkPolicy,
	}
}

func defaultNetworkPolicy(np *networkingv1.NetworkPolicy) {
	setProto := func(ports []networkingv1.NetworkPolicyPort) {
		for i := range ports {
			if ports[i].Protocol == nil {
				ports[i].Protocol = ptrTo(corev1.ProtocolTCP)
			}
		}
	}
	for i := range np.Spec.Ingress {
		setProto(np.Spec.Ingress[i].Ports)
	}
	for i := range np.Spec.Egress {
		setProto(np.Spec.Egress[i].Ports)
	}
	if len(np.Spec.PolicyTypes) == 0 {
		np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if len(np.Spec.Egress) != 0 {
			np.Spec.PolicyTypes = append(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		}
	}
}

func validateNetworkPolicy(np *networkingv1.NetworkPolicy) field.ErrorList {
	sp := field.NewPath("spec")
	opts := metav1validation.LabelSelectorValidationOptions{}
	errs := metav1validation.ValidateLabelSelector(&np.Spec.PodSelector, opts, sp.Child("podSelector"))
	for i, rule := range np.Spec.Ingress {
		rp := sp.Child("ingress").Index(i)
		for j := range rule.Ports {
			errs = append(errs, validateNetworkPolicyPort(&rule.Ports[j], rp.Child("ports").Index(j))...)
		}
		for j := range rule.From {
			errs = append(errs, validateNetworkPolicyPeer(&rule.From[j], rp.Child("from").Index(j))...)
		}
	}
	for i, rule := range np.Spec.Egress {
		rp := sp.Child("egress").Index(i)
		for j := range rule.Ports {
			errs = append(errs, validateNetworkPolicyPort(&rule.Ports[j], rp.Child("ports").Index(j))...)
		}
		for j := range rule.To {
			errs = append(errs, validateNetworkPolicyPeer(&rule.To[j], rp.Child("to").Index(j))...)
		}
	}
	allowed := []string{string(networkingv1.PolicyTypeIngress), string(networkingv1.PolicyTypeEgress)}
	if len(np.Spec.PolicyTypes) > len(allowed) {
		return append(errs, field.Invalid(sp.Child("policyTypes"), np.Spec.PolicyTypes, "may not specify more than two policyTypes"))
	}
	for i, t := range np.Spec.PolicyTypes {
		if t != networkingv1.PolicyTypeIngress && t != networkingv1.PolicyTypeEgress {
			errs = append(errs, field.NotSupported(sp.Child("policyTypes").Index(i), t, allowed))
		}
	}
	return errs
}

func validateNetworkPolicyPort(port *networkingv1.NetworkPolicyPort, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if port.Protocol != nil {
		switch *port.Protocol {
		case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
		default:
			errs = append(errs, field.NotSupported(p.Child("protocol"), *port.Protocol, []string{"TCP", "UDP", "SCTP"}))
		}
	}
	switch {
	case port.Port == nil:
		if port.EndPort != nil {
			errs = append(errs, field.Invalid(p.Child("endPort"), *port.EndPort, "may not be specified when `port` is not specified"))
		}
	case port.Port.Type == intstr.Int:
		errs = append(errs, invalidMsgs(p.Child("port"), port.Port.IntVal, validation.IsValidPortNum(int(port.Port.IntVal)))...)
		if port.EndPort != nil {
			if *port.EndPort < port.Port.IntVal {
				errs = append(errs, field.Invalid(p.Child("endPort"), *port.EndPort, "must be greater than or equal to `port`"))
			}
			errs = append(errs, invalidMsgs(p.Child("endPort"), *port.EndPort, validation.IsValidPortNum(int(*port.EndPort)))...)
		}
	default:
		if port.EndPort != nil {
			errs = append(errs, field.Invalid(p.Child("endPort"), *port.EndPort, "may not be specified when `port` is non-numeric"))
		}
		errs = append(errs, invalidMsgs(p.Child("port"), port.Port.StrVal, validation.IsValidPortName(port.Port.StrVal))...)
	}
	return errs
}

func validateNetworkPolicyPeer(peer *networkingv1.NetworkPolicyPeer, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	opts := metav1validation.LabelSelectorValidationOptions{}
	n := 0
	if peer.PodSelector != nil {
		n++
		errs = append(errs, metav1validation.ValidateLabelSelector(peer.PodSelector, opts, p.Child("podSelector"))...)
	}
	if peer.NamespaceSelector != nil {
		n++
		errs = append(errs, metav1validation.ValidateLabelSelector(peer.NamespaceSelector, opts, p.Child("namespaceSelector"))...)
	}
	if peer.IPBlock != nil {
		n++
		errs = append(errs, validateIPBlock(peer.IPBlock, p.Child("ipBlock"))...)
	}
	if n == 0 {
		errs = append(errs, field.Required(p, "must specify a peer"))
	} else if n > 1 && peer.IPBlock != nil {
		errs = append(errs, field.Forbidden(p, "may not specify both ipBlock and another peer"))
	}
	return errs
}

// validateIPBlock: cidr is required and valid; every except entry is a strict subset of it.
func validateIPBlock(b *networkingv1.IPBlock, p *field.Path) field.ErrorList {
	if b.CIDR == "" {
		return field.ErrorList{field.Required(p.Child("cidr"), "")}
	}
	errs := validation.IsValidCIDRForLegacyField(p.Child("cidr"), b.CIDR, true, nil)
	_, cidr, err := net.ParseCIDR(b.CIDR)
	if err != nil {
		return errs
	}
	for i, ex := range b.Except {
		ep := p.Child("except").Index(i)
		errs = append(errs, validation.IsValidCIDRForLegacyField(ep, ex, true, nil)...)
		_, exNet, err := net.ParseCIDR(ex)
		if err != nil {
			continue
		}
		cl, _ := cidr.Mask.Size()
		el, _ := exNet.Mask.Size()
		if !cidr.Contains(exNet.IP) || cl >= el {
			errs = append(errs, field.Invalid(ep, ex, "must be a strict subset of `cidr`"))
		}
	}
	return errs
}
