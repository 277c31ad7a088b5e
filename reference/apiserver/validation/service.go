package validation

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var (
	supportedServiceTypes     = []string{string(corev1.ServiceTypeClusterIP), string(corev1.ServiceTypeNodePort), string(corev1.ServiceTypeLoadBalancer), string(corev1.ServiceTypeExternalName)}
	supportedSessionAffinity  = []string{string(corev1.ServiceAffinityClientIP), string(corev1.ServiceAffinityNone)}
	supportedTrafficPolicies  = []string{string(corev1.ServiceExternalTrafficPolicyCluster), string(corev1.ServiceExternalTrafficPolicyLocal)}
	supportedIPFamilies       = []string{string(corev1.IPv4Protocol), string(corev1.IPv6Protocol)}
	supportedIPFamilyPolicies = []string{string(corev1.IPFamilyPolicySingleStack), string(corev1.IPFamilyPolicyPreferDualStack), string(corev1.IPFamilyPolicyRequireDualStack)}
)

// maxClientIPServiceAffinitySeconds is the upper bound of sessionAffinityConfig.clientIP.timeoutSeconds.
const maxClientIPServiceAffinitySeconds = 86400

func isHeadless(svc *corev1.Service) bool {
	return svc.Spec.ClusterIP == corev1.ClusterIPNone ||
		(len(svc.Spec.ClusterIPs) > 0 && svc.Spec.ClusterIPs[0] == corev1.ClusterIPNone)
}

// validateService checks a service on create (and, with the update rules added, on update).
func validateService(svc *corev1.Service) field.ErrorList {
	var errs field.ErrorList
	spec := &svc.Spec
	errs = append(errs, validateEnum(spec.Type, supportedServiceTypes, specPath.Child("type"))...)
	externalName := spec.Type == corev1.ServiceTypeExternalName
	headless := isHeadless(svc)

	if len(spec.Ports) == 0 && !headless && !externalName {
		errs = append(errs, field.Required(specPath.Child("ports"), ""))
	}
	if externalName {
		if spec.ClusterIP != "" {
			errs = append(errs, field.Forbidden(specPath.Child("clusterIP"), "may not be set for ExternalName services"))
		}
		clean := strings.TrimSuffix(spec.ExternalName, ".")
		if clean == "" {
			errs = append(errs, field.Required(specPath.Child("externalName"), ""))
		} else {
			errs = append(errs, invalidMsgs(specPath.Child("externalName"), spec.ExternalName, utilvalidation.IsDNS1123Subdomain(clean))...)
		}
	}

	// Cluster IPs: "", "None" or an IP; clusterIPs[0] must match clusterIP.
	if spec.ClusterIP != "" && spec.ClusterIP != corev1.ClusterIPNone {
		errs = append(errs, utilvalidation.IsValidIP(specPath.Child("clusterIP"), spec.ClusterIP)...)
	}
	if len(spec.ClusterIPs) > 2 {
		errs = append(errs, field.Invalid(specPath.Child("clusterIPs"), spec.ClusterIPs, "may specify no more than two IPs"))
	}
	for i, ip := range spec.ClusterIPs {
		if ip == corev1.ClusterIPNone {
			if i > 0 {
				errs = append(errs, field.Invalid(specPath.Child("clusterIPs").Index(i), ip, "'None' must be the first and only value"))
			}
			continue
		}
		errs = append(errs, utilvalidation.IsValidIP(specPath.Child("clusterIPs").Index(i), ip)...)
	}
	if len(spec.ClusterIPs) > 0 && spec.ClusterIPs[0] != spec.ClusterIP {
		errs = append(errs, field.Invalid(specPath.Child("clusterIPs"), spec.ClusterIPs, "first value must match `clusterIP`"))
	}
	if headless && (spec.Type == corev1.ServiceTypeNodePort || spec.Type == corev1.ServiceTypeLoadBalancer) {
		errs = append(errs, field.Invalid(specPath.Child("clusterIPs").Index(0), corev1.ClusterIPNone, fmt.Sprintf("may not be set to 'None' for %s services", spec.Type)))
	}
	if spec.IPFamilyPolicy != nil {
		errs = append(errs, validateEnum(*spec.IPFamilyPolicy, supportedIPFamilyPolicies, specPath.Child("ipFamilyPolicy"))...)
	}
	for i, fam := range spec.IPFamilies {
		errs = append(errs, validateEnum(fam, supportedIPFamilies, specPath.Child("ipFamilies").Index(i))...)
	}

	// Ports.
	requireName := len(spec.Ports) > 1
	names := sets.New[string]()
	portKeys := sets.New[string]()
	nodePorts := sets.New[string]()
	for i := range spec.Ports {
		p := &spec.Ports[i]
		pp := specPath.Child("ports").Index(i)
		if p.Name == "" {
			if requireName {
				errs = append(errs, field.Required(pp.Child("name"), ""))
			}
		} else {
			errs = append(errs, invalidMsgs(pp.Child("name"), p.Name, utilvalidation.IsDNS1123Label(p.Name))...)
			if names.Has(p.Name) {
				errs = append(errs, field.Duplicate(pp.Child("name"), p.Name))
			}
			names.Insert(p.Name)
		}
		errs = append(errs, invalidMsgs(pp.Child("port"), p.Port, utilvalidation.IsValidPortNum(int(p.Port)))...)
		errs = append(errs, validateEnum(p.Protocol, supportedPortProtocols, pp.Child("protocol"))...)
		errs = append(errs, validatePortNumOrName(p.TargetPort, pp.Child("targetPort"))...)
		if p.AppProtocol != nil {
			errs = append(errs, invalidMsgs(pp.Child("appProtocol"), *p.AppProtocol, utilvalidation.IsQualifiedName(*p.AppProtocol))...)
		}
		key := fmt.Sprintf("%d/%s", p.Port, p.Protocol)
		if portKeys.Has(key) {
			errs = append(errs, field.Duplicate(pp, key))
		}
		portKeys.Insert(key)
		if p.NodePort != 0 {
			if spec.Type != corev1.ServiceTypeNodePort && spec.Type != corev1.ServiceTypeLoadBalancer {
				errs = append(errs, field.Forbidden(pp.Child("nodePort"), fmt.Sprintf("may not be used when `type` is '%s'", spec.Type)))
			} else {
				errs = append(errs, invalidMsgs(pp.Child("nodePort"), p.NodePort, utilvalidation.IsValidPortNum(int(p.NodePort)))...)
				nk := fmt.Sprintf("%d/%s", p.NodePort, p.Protocol)
				if nodePorts.Has(nk) {
					errs = append(errs, field.Duplicate(pp.Child("nodePort"), p.NodePort))
				}
				nodePorts.Insert(nk)
			}
		}
	}

	errs = append(errs, metav1validation.ValidateLabels(spec.Selector, specPath.Child("selector"))...)

	// Session affinity.
	errs = append(errs, validateEnum(spec.SessionAffinity, supportedSessionAffinity, specPath.Child("sessionAffinity"))...)
	switch spec.SessionAffinity {
	case corev1.ServiceAffinityClientIP:
		cfg := spec.SessionAffinityConfig
		tp := specPath.Child("sessionAffinityConfig", "clientIP", "timeoutSeconds")
		if cfg == nil || cfg.ClientIP == nil || cfg.ClientIP.TimeoutSeconds == nil {
			errs = append(errs, field.Required(tp, "when `sessionAffinity` is ClientIP"))
		} else if t := *cfg.ClientIP.TimeoutSeconds; t <= 0 || t > maxClientIPServiceAffinitySeconds {
			errs = append(errs, field.Invalid(tp, t, fmt.Sprintf("must be greater than 0 and less than %d", maxClientIPServiceAffinitySeconds)))
		}
	case corev1.ServiceAffinityNone:
		if spec.SessionAffinityConfig != nil {
			errs = append(errs, field.Invalid(specPath.Child("sessionAffinityConfig"), spec.SessionAffinityConfig, fmt.Sprintf("must not be set when session affinity is %s", corev1.ServiceAffinityNone)))
		}
	}

	// External IPs and load balancer fields.
	for i, ip := range spec.ExternalIPs {
		errs = append(errs, utilvalidation.IsValidIP(specPath.Child("externalIPs").Index(i), ip)...)
	}
	for i, cidr := range spec.LoadBalancerSourceRanges {
		errs = append(errs, utilvalidation.IsValidCIDR(specPath.Child("loadBalancerSourceRanges").Index(i), strings.TrimSpace(cidr))...)
	}
	if len(spec.LoadBalancerSourceRanges) > 0 && spec.Type != corev1.ServiceTypeLoadBalancer {
		errs = append(errs, field.Forbidden(specPath.Child("loadBalancerSourceRanges"), "may only be used when `type` is 'LoadBalancer'"))
	}
	if spec.LoadBalancerIP != "" && spec.Type != corev1.ServiceTypeLoadBalancer {
		errs = append(errs, field.Forbidden(specPath.Child("loadBalancerIP"), "may only be used when `type` is 'LoadBalancer'"))
	}

	// Traffic policies.
	external := spec.Type == corev1.ServiceTypeNodePort || spec.Type == corev1.ServiceTypeLoadBalancer
	if external {
		errs = append(errs, validateEnum(spec.ExternalTrafficPolicy, supportedTrafficPolicies, specPath.Child("externalTrafficPolicy"))...)
	} else if spec.ExternalTrafficPolicy != "" {
		errs = append(errs, field.Invalid(specPath.Child("externalTrafficPolicy"), spec.ExternalTrafficPolicy, "may only be set for externally-accessible services"))
	}
	if spec.HealthCheckNodePort != 0 {
		if spec.Type != corev1.ServiceTypeLoadBalancer || spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal {
			errs = append(errs, field.Invalid(specPath.Child("healthCheckNodePort"), spec.HealthCheckNodePort, "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"))
		} else {
			errs = append(errs, invalidMsgs(specPath.Child("healthCheckNodePort"), spec.HealthCheckNodePort, utilvalidation.IsValidPortNum(int(spec.HealthCheckNodePort)))...)
		}
	}
	if !externalName {
		if spec.InternalTrafficPolicy == nil {
			errs = append(errs, field.Required(specPath.Child("internalTrafficPolicy"), ""))
		} else {
			errs = append(errs, validateEnum(*spec.InternalTrafficPolicy, supportedTrafficPolicies, specPath.Child("internalTrafficPolicy"))...)
		}
	}
	return errs
}

// validateServiceUpdate: an allocated cluster IP may not change while the service keeps needing
// one (changes to or from ExternalName excepted).
func validateServiceUpdate(newSvc, oldSvc *corev1.Service) field.ErrorList {
	var errs field.ErrorList
	needs := func(s *corev1.Service) bool { return s.Spec.Type != corev1.ServiceTypeExternalName }
	if needs(newSvc) && needs(oldSvc) && oldSvc.Spec.ClusterIP != "" {
		errs = append(errs, apimachineryvalidation.ValidateImmutableField(newSvc.Spec.ClusterIP, oldSvc.Spec.ClusterIP, specPath.Child("clusterIP"))...)
	}
	return errs
}

// validateServiceStatus: load balancer ingress IPs and hostnames.
func validateServiceStatus(svc *corev1.Service) field.ErrorList {
	var errs field.ErrorList
	for i, ing := range svc.Status.LoadBalancer.Ingress {
		p := statusPath.Child("loadBalancer", "ingress").Index(i)
		if ing.IP != "" {
			errs = append(errs, utilvalidation.IsValidIP(p.Child("ip"), ing.IP)...)
		}
		if ing.Hostname != "" {
			errs = append(errs, invalidMsgs(p.Child("hostname"), ing.Hostname, utilvalidation.IsDNS1123Subdomain(ing.Hostname))...)
		}
	}
	return errs
}
