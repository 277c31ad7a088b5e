package validation

import (
	"fmt"
	"net/netip"
	"strings"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	policyv1 "k8s.io/api/policy/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Size limits.
const (
	// maxConfigMapSize is the total size limit of a ConfigMap's data and binaryData (1 MiB).
	maxConfigMapSize = 1 << 20
	// maxEventFieldLength bounds an Event's reportingInstance, action and reason, and
	// maxEventNoteLength its message, when it has an eventTime.
	maxEventFieldLength = 128
	maxEventNoteLength  = 1024
	// maxEndpointSliceEndpoints and the others are discovery.k8s.io/v1's limits.
	maxEndpointSliceEndpoints = 1000
	maxEndpointSlicePorts     = 100
	maxEndpointAddresses      = 100
)

var (
	supportedAddressTypes = []string{string(discoveryv1.AddressTypeIPv4), string(discoveryv1.AddressTypeIPv6), string(discoveryv1.AddressTypeFQDN)}
	supportedNodeAddrs    = []string{string(corev1.NodeHostName), string(corev1.NodeExternalIP), string(corev1.NodeInternalIP), string(corev1.NodeExternalDNS), string(corev1.NodeInternalDNS)}
	supportedNSPhases     = []string{string(corev1.NamespaceActive), string(corev1.NamespaceTerminating)}
)

// ---- Namespace ----

// validateNamespace: metadata (DNS-1123 label name, no namespace) and spec.finalizers, each a
// qualified name that is either "kubernetes" or domain-prefixed.
func validateNamespace(ns *corev1.Namespace) field.ErrorList {
	var errs field.ErrorList
	for i, f := range ns.Spec.Finalizers {
		p := specPath.Child("finalizers").Index(i)
		name := string(f)
		if msgs := utilvalidation.IsQualifiedName(name); len(msgs) > 0 {
			errs = append(errs, invalidMsgs(p, name, msgs)...)
		} else if !strings.Contains(name, "/") && f != corev1.FinalizerKubernetes {
			errs = append(errs, field.Invalid(p, name, "name is neither a standard finalizer name nor is it fully qualified"))
		}
	}
	return errs
}

// validateNamespaceStatus: phase Active unless deletion started, Terminating after.
func validateNamespaceStatus(ns *corev1.Namespace) field.ErrorList {
	p := statusPath.Child("phase")
	if errs := validateEnum(ns.Status.Phase, supportedNSPhases, p); len(errs) > 0 {
		return errs
	}
	if ns.DeletionTimestamp == nil && ns.Status.Phase != corev1.NamespaceActive {
		return field.ErrorList{field.Invalid(p, ns.Status.Phase, "may only be 'Active' if `deletionTimestamp` is empty")}
	}
	if ns.DeletionTimestamp != nil && ns.Status.Phase != corev1.NamespaceTerminating {
		return field.ErrorList{field.Invalid(p, ns.Status.Phase, "may only be 'Terminating' if `deletionTimestamp` is not empty")}
	}
	return nil
}

// ---- Node ----

// validateNode: taints (key a label name, value a label value, effect required and known, no
// duplicate key+effect), podCIDR(s) valid CIDRs with podCIDRs[0] == podCIDR, and status.
func validateNode(n *corev1.Node) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateTaints(n.Spec.Taints, specPath.Child("taints"))...)
	if n.Spec.PodCIDR != "" {
		errs = append(errs, utilvalidation.IsValidCIDR(specPath.Child("podCIDR"), n.Spec.PodCIDR)...)
	}
	if len(n.Spec.PodCIDRs) > 2 {
		errs = append(errs, field.Invalid(specPath.Child("podCIDRs"), n.Spec.PodCIDRs, "may specify no more than one CIDR for each IP family"))
	}
	for i, c := range n.Spec.PodCIDRs {
		errs = append(errs, utilvalidation.IsValidCIDR(specPath.Child("podCIDRs").Index(i), c)...)
	}
	if len(n.Spec.PodCIDRs) > 0 && n.Spec.PodCIDRs[0] != n.Spec.PodCIDR {
		errs = append(errs, field.Invalid(specPath.Child("podCIDRs"), n.Spec.PodCIDRs, "first value must match `podCIDR`"))
	}
	errs = append(errs, validateNodeStatus(n)...)
	return errs
}

func validateTaints(taints []corev1.Taint, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, t := range taints {
		p := fldPath.Index(i)
		if t.Key == "" {
			errs = append(errs, field.Required(p.Child("key"), ""))
		} else {
			errs = append(errs, metav1validation.ValidateLabelName(t.Key, p.Child("key"))...)
		}
		errs = append(errs, invalidMsgs(p.Child("value"), t.Value, utilvalidation.IsValidLabelValue(t.Value))...)
		errs = append(errs, validateEnum(t.Effect, supportedTaintEffects, p.Child("effect"))...)
		key := t.Key + "\x00" + string(t.Effect)
		if seen.Has(key) {
			errs = append(errs, field.Duplicate(p, fmt.Sprintf("%s:%s", t.Key, t.Effect)))
		}
		seen.Insert(key)
	}
	return errs
}

// validateNodeStatus: capacity and allocatable non-negative, addresses of known types.
func validateNodeStatus(n *corev1.Node) field.ErrorList {
	var errs field.ErrorList
	for _, name := range sortedResourceNames(n.Status.Capacity) {
		errs = append(errs, nonNegativeQuantity(n.Status.Capacity[name], statusPath.Child("capacity").Key(string(name)))...)
	}
	for _, name := range sortedResourceNames(n.Status.Allocatable) {
		errs = append(errs, nonNegativeQuantity(n.Status.Allocatable[name], statusPath.Child("allocatable").Key(string(name)))...)
	}
	for i, a := range n.Status.Addresses {
		p := statusPath.Child("addresses").Index(i)
		errs = append(errs, validateEnum(a.Type, supportedNodeAddrs, p.Child("type"))...)
		if a.Address == "" {
			errs = append(errs, field.Required(p.Child("address"), ""))
		}
	}
	if ep := n.Status.DaemonEndpoints.KubeletEndpoint.Port; ep != 0 {
		errs = append(errs, invalidMsgs(statusPath.Child("daemonEndpoints", "kubeletEndpoint", "Port"), ep, utilvalidation.IsValidPortNum(int(ep)))...)
	}
	return errs
}

// validateNodeUpdate: podCIDR(s) and providerID may only go from "" to a value.
func validateNodeUpdate(newN, oldN *corev1.Node) field.ErrorList {
	var errs field.ErrorList
	if oldN.Spec.PodCIDR != "" && newN.Spec.PodCIDR != oldN.Spec.PodCIDR ||
		len(oldN.Spec.PodCIDRs) > 0 && strings.Join(oldN.Spec.PodCIDRs, ",") != strings.Join(newN.Spec.PodCIDRs, ",") {
		errs = append(errs, field.Forbidden(specPath.Child("podCIDRs"), "node updates may not change podCIDR except from \"\" to valid"))
	}
	if oldN.Spec.ProviderID != "" && newN.Spec.ProviderID != oldN.Spec.ProviderID {
		errs = append(errs, field.Forbidden(specPath.Child("providerID"), "node updates may not change providerID except from \"\" to valid"))
	}
	return errs
}

// ---- Endpoints ----

// validateEndpoints: each subset has addresses (valid, non-special IPs) and ports (named when
// more than one, unique names, valid numbers and protocols).
func validateEndpoints(ep *corev1.Endpoints) field.ErrorList {
	var errs field.ErrorList
	for i, ss := range ep.Subsets {
		p := field.NewPath("subsets").Index(i)
		if len(ss.Addresses) == 0 && len(ss.NotReadyAddresses) == 0 {
			errs = append(errs, field.Required(p, "must specify `addresses` or `notReadyAddresses`"))
		}
		for j, a := range ss.Addresses {
			errs = append(errs, validateEndpointAddress(&a, p.Child("addresses").Index(j))...)
		}
		for j, a := range ss.NotReadyAddresses {
			errs = append(errs, validateEndpointAddress(&a, p.Child("notReadyAddresses").Index(j))...)
		}
		if len(ss.Ports) == 0 {
			errs = append(errs, field.Required(p.Child("ports"), ""))
		}
		names := sets.New[string]()
		for j, port := range ss.Ports {
			pp := p.Child("ports").Index(j)
			if port.Name == "" {
				if len(ss.Ports) > 1 {
					errs = append(errs, field.Required(pp.Child("name"), ""))
				}
			} else {
				errs = append(errs, invalidMsgs(pp.Child("name"), port.Name, utilvalidation.IsDNS1123Label(port.Name))...)
				if names.Has(port.Name) {
					errs = append(errs, field.Duplicate(pp.Child("name"), port.Name))
				}
				names.Insert(port.Name)
			}
			errs = append(errs, invalidMsgs(pp.Child("port"), port.Port, utilvalidation.IsValidPortNum(int(port.Port)))...)
			errs = append(errs, validateEnum(port.Protocol, supportedPortProtocols, pp.Child("protocol"))...)
		}
	}
	return errs
}

func validateEndpointAddress(a *corev1.EndpointAddress, p *field.Path) field.ErrorList {
	errs := utilvalidation.IsValidIP(p.Child("ip"), a.IP)
	if len(errs) == 0 {
		errs = append(errs, validateNonSpecialIP(a.IP, p.Child("ip"))...)
	}
	if a.Hostname != "" {
		errs = append(errs, invalidMsgs(p.Child("hostname"), a.Hostname, utilvalidation.IsDNS1123Label(a.Hostname))...)
	}
	if a.NodeName != nil && *a.NodeName != "" {
		errs = append(errs, invalidMsgs(p.Child("nodeName"), *a.NodeName, apimachineryvalidation.NameIsDNSSubdomain(*a.NodeName, false))...)
	}
	return errs
}

// validateNonSpecialIP rejects the unspecified address and link-local ranges, as Kubernetes does
// for endpoint addresses. Unlike Kubernetes, loopback addresses are accepted: clusterkit runs
// whole clusters on 127.0.0.1.
func validateNonSpecialIP(ip string, fldPath *field.Path) field.ErrorList {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return field.ErrorList{field.Invalid(fldPath, ip, "must be a valid IP address")}
	}
	switch {
	case addr.IsUnspecified():
		return field.ErrorList{field.Invalid(fldPath, ip, "may not be unspecified (0.0.0.0)")}
	case addr.IsLinkLocalUnicast():
		return field.ErrorList{field.Invalid(fldPath, ip, "may not be in the link-local range (169.254.0.0/16, fe80::/10)")}
	case addr.IsLinkLocalMulticast():
		return field.ErrorList{field.Invalid(fldPath, ip, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)")}
	}
	return nil
}

// ---- Event ----

// validateEvent is kube-apiserver's validation of every Event, whichever version writes it:
// an event without eventTime (the core/v1 recorder's) must live in its involved object's
// namespace (an event about a cluster-scoped object in "" or "default"); one with eventTime
// (the events.k8s.io recorder's) must name its reporting controller (a qualified name) and
// instance, action and reason (each at most 128 characters) and keep its message within 1024.
func validateEvent(ev *corev1.Event) field.ErrorList {
	var errs field.ErrorList
	invNS := field.NewPath("involvedObject", "namespace")
	if ev.EventTime.IsZero() {
		if ev.InvolvedObject.Namespace == "" {
			if ev.Namespace != "" && ev.Namespace != "default" {
				errs = append(errs, field.Invalid(invNS, ev.InvolvedObject.Namespace, "does not match event.namespace"))
			}
		} else if ev.InvolvedObject.Namespace != ev.Namespace {
			errs = append(errs, field.Invalid(invNS, ev.InvolvedObject.Namespace, "does not match event.namespace"))
		}
	} else {
		if ev.InvolvedObject.Namespace == "" && ev.Namespace != "default" && ev.Namespace != "kube-system" {
			errs = append(errs, field.Invalid(invNS, ev.InvolvedObject.Namespace, "does not match event.namespace"))
		}
		if ev.ReportingController == "" {
			errs = append(errs, field.Required(field.NewPath("reportingController"), ""))
		}
		errs = append(errs, invalidMsgs(field.NewPath("reportingController"), ev.ReportingController, utilvalidation.IsQualifiedName(ev.ReportingController))...)
		errs = append(errs, requiredBounded(field.NewPath("reportingInstance"), ev.ReportingInstance, maxEventFieldLength)...)
		errs = append(errs, requiredBounded(field.NewPath("action"), ev.Action, maxEventFieldLength)...)
		errs = append(errs, requiredBounded(field.NewPath("reason"), ev.Reason, maxEventFieldLength)...)
		if len(ev.Message) > maxEventNoteLength {
			errs = append(errs, field.Invalid(field.NewPath("message"), "", fmt.Sprintf("can have at most %v characters", maxEventNoteLength)))
		}
	}
	if ev.Namespace != "" { // an empty one is metadata.namespace's Required error
		errs = append(errs, invalidMsgs(field.NewPath("namespace"), ev.Namespace, utilvalidation.IsDNS1123Subdomain(ev.Namespace))...)
	}
	return errs
}

// requiredBounded: a required string of at most limit characters, with kube-apiserver's
// event messages.
func requiredBounded(p *field.Path, v string, limit int) field.ErrorList {
	if v == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	if len(v) > limit {
		return field.ErrorList{field.Invalid(p, "", fmt.Sprintf("can have at most %v characters", limit))}
	}
	return nil
}

// validateEventsV1Create is what a create through events.k8s.io/v1 adds to validateEvent (ev is
// the stored core form): eventTime required, type Normal or Warning, a series of at least 2 with
// lastObservedTime, and none of the deprecated core fields set.
func validateEventsV1Create(ev *corev1.Event) field.ErrorList {
	errs := validateEventSeries(ev)
	if ev.EventTime.IsZero() {
		errs = append(errs, field.Required(field.NewPath("eventTime"), ""))
	}
	if ev.Type != corev1.EventTypeNormal && ev.Type != corev1.EventTypeWarning {
		errs = append(errs, field.Invalid(field.NewPath("type"), "", fmt.Sprintf("has invalid value: %v", ev.Type)))
	}
	if !ev.FirstTimestamp.IsZero() {
		errs = append(errs, field.Invalid(field.NewPath("firstTimestamp"), "", "needs to be unset"))
	}
	if !ev.LastTimestamp.IsZero() {
		errs = append(errs, field.Invalid(field.NewPath("lastTimestamp"), "", "needs to be unset"))
	}
	if ev.Count != 0 {
		errs = append(errs, field.Invalid(field.NewPath("count"), "", "needs to be unset"))
	}
	if ev.Source.Component != "" || ev.Source.Host != "" {
		errs = append(errs, field.Invalid(field.NewPath("source"), "", "needs to be unset"))
	}
	return errs
}

// validateEventsV1Update is what an update through events.k8s.io/v1 adds to validateEvent: it
// may change the series (validated again) and metadata only.
func validateEventsV1Update(n, o *corev1.Event) field.ErrorList {
	var errs field.ErrorList
	if !apiequality.Semantic.DeepEqual(n.Series, o.Series) {
		errs = append(errs, validateEventSeries(n)...)
	}
	immutable := func(name string, nv, ov any) {
		if !apiequality.Semantic.DeepEqual(nv, ov) {
			errs = append(errs, field.Invalid(field.NewPath(name), nv, "field is immutable"))
		}
	}
	immutable("involvedObject", n.InvolvedObject, o.InvolvedObject)
	immutable("reason", n.Reason, o.Reason)
	immutable("message", n.Message, o.Message)
	immutable("source", n.Source, o.Source)
	immutable("firstTimestamp", n.FirstTimestamp, o.FirstTimestamp)
	immutable("lastTimestamp", n.LastTimestamp, o.LastTimestamp)
	immutable("count", n.Count, o.Count)
	immutable("type", n.Type, o.Type)
	immutable("eventTime", n.EventTime, o.EventTime)
	immutable("action", n.Action, o.Action)
	immutable("related", n.Related, o.Related)
	immutable("reportingController", n.ReportingController, o.ReportingController)
	immutable("reportingInstance", n.ReportingInstance, o.ReportingInstance)
	return errs
}

func validateEventSeries(ev *corev1.Event) field.ErrorList {
	if ev.Series == nil {
		return nil
	}
	var errs field.ErrorList
	if ev.Series.Count < 2 {
		errs = append(errs, field.Invalid(field.NewPath("series", "count"), "", "should be at least 2"))
	}
	if ev.Series.LastObservedTime.IsZero() {
		errs = append(errs, field.Required(field.NewPath("series", "lastObservedTime"), ""))
	}
	return errs
}

// ---- ConfigMap ----

// validateConfigMap: keys valid config keys, none both in data and binaryData, total size
// at most 1 MiB.
func validateConfigMap(cm *corev1.ConfigMap) field.ErrorList {
	var errs field.ErrorList
	total := 0
	for k, v := range cm.Data {
		errs = append(errs, invalidMsgs(field.NewPath("data").Key(k), k, utilvalidation.IsConfigMapKey(k))...)
		total += len(v)
	}
	for k, v := range cm.BinaryData {
		errs = append(errs, invalidMsgs(field.NewPath("binaryData").Key(k), k, utilvalidation.IsConfigMapKey(k))...)
		if _, dup := cm.Data[k]; dup {
			errs = append(errs, field.Invalid(field.NewPath("binaryData").Key(k), k, "duplicate of key present in data"))
		}
		total += len(v)
	}
	if total > maxConfigMapSize {
		errs = append(errs, field.TooLong(field.NewPath("data"), "", maxConfigMapSize))
	}
	return errs
}

// validateConfigMapUpdate: an immutable config map keeps its data and stays immutable.
func validateConfigMapUpdate(newCM, oldCM *corev1.ConfigMap) field.ErrorList {
	if oldCM.Immutable == nil || !*oldCM.Immutable {
		return nil
	}
	var errs field.ErrorList
	if newCM.Immutable == nil || !*newCM.Immutable {
		errs = append(errs, field.Forbidden(field.NewPath("immutable"), "field is immutable when `immutable` is set"))
	}
	if !equalStringMaps(newCM.Data, oldCM.Data) {
		errs = append(errs, field.Forbidden(field.NewPath("data"), "field is immutable when `immutable` is set"))
	}
	if !equalBytesMaps(newCM.BinaryData, oldCM.BinaryData) {
		errs = append(errs, field.Forbidden(field.NewPath("binaryData"), "field is immutable when `immutable` is set"))
	}
	return errs
}

func equalStringMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func equalBytesMaps(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || string(w) != string(v) {
			return false
		}
	}
	return true
}

// ---- Binding, Eviction, Scale ----

// validateBinding: target.name required, target.kind empty or Node.
func validateBinding(b *corev1.Binding) field.ErrorList {
	var errs field.ErrorList
	if b.Target.Kind != "" && b.Target.Kind != "Node" {
		errs = append(errs, field.NotSupported(field.NewPath("target", "kind"), b.Target.Kind, []string{"Node", "<empty>"}))
	}
	if b.Target.Name == "" {
		errs = append(errs, field.Required(field.NewPath("target", "name"), ""))
	}
	return errs
}

// validateEviction: metadata.name (the pod to evict) required; gracePeriodSeconds non-negative.
func validateEviction(e *policyv1.Eviction) field.ErrorList {
	var errs field.ErrorList
	if e.Name == "" {
		errs = append(errs, field.Required(metadataPath.Child("name"), "name of the pod to evict is required"))
	}
	if e.DeleteOptions != nil && e.DeleteOptions.GracePeriodSeconds != nil && *e.DeleteOptions.GracePeriodSeconds < 0 {
		errs = append(errs, field.Invalid(field.NewPath("deleteOptions", "gracePeriodSeconds"), *e.DeleteOptions.GracePeriodSeconds, "must be greater than or equal to 0"))
	}
	return errs
}

// validateScale: metadata and spec.replicas >= 0.
func validateScale(s *autoscalingv1.Scale) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(s.Spec.Replicas), specPath.Child("replicas"))...)
	return errs
}

// ---- Lease ----

// validateLease: leaseDurationSeconds > 0 and leaseTransitions >= 0 when set, holderIdentity
// not only whitespace.
func validateLease(l *coordinationv1.Lease) field.ErrorList {
	var errs field.ErrorList
	if h := l.Spec.HolderIdentity; h != nil && *h != "" && strings.TrimSpace(*h) == "" {
		errs = append(errs, field.Invalid(specPath.Child("holderIdentity"), *h, "must not be only whitespace"))
	}
	if d := l.Spec.LeaseDurationSeconds; d != nil && *d <= 0 {
		errs = append(errs, field.Invalid(specPath.Child("leaseDurationSeconds"), *d, "must be greater than 0"))
	}
	if t := l.Spec.LeaseTransitions; t != nil && *t < 0 {
		errs = append(errs, field.Invalid(specPath.Child("leaseTransitions"), *t, "must be greater than or equal to 0"))
	}
	return errs
}

// ---- EndpointSlice ----

// validateEndpointSlice: addressType required and known; 1..100 addresses per endpoint, valid
// for the type; at most 1000 endpoints and 100 ports; port names unique DNS labels, numbers
// in range, protocols known.
func validateEndpointSlice(es *discoveryv1.EndpointSlice) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateEnum(es.AddressType, supportedAddressTypes, field.NewPath("addressType"))...)
	epPath := field.NewPath("endpoints")
	if len(es.Endpoints) > maxEndpointSliceEndpoints {
		errs = append(errs, field.TooMany(epPath, len(es.Endpoints), maxEndpointSliceEndpoints))
	}
	for i, ep := range es.Endpoints {
		p := epPath.Index(i)
		ap := p.Child("addresses")
		if len(ep.Addresses) == 0 {
			errs = append(errs, field.Required(ap, "must contain at least 1 address"))
		} else if len(ep.Addresses) > maxEndpointAddresses {
			errs = append(errs, field.TooMany(ap, len(ep.Addresses), maxEndpointAddresses))
		}
		for j, addr := range ep.Addresses {
			errs = append(errs, validateSliceAddress(es.AddressType, addr, ap.Index(j))...)
		}
		if ep.Hostname != nil {
			errs = append(errs, invalidMsgs(p.Child("hostname"), *ep.Hostname, utilvalidation.IsDNS1123Label(*ep.Hostname))...)
		}
		if ep.NodeName != nil {
			errs = append(errs, invalidMsgs(p.Child("nodeName"), *ep.NodeName, apimachineryvalidation.NameIsDNSSubdomain(*ep.NodeName, false))...)
		}
		if ep.DeprecatedTopology != nil {
			errs = append(errs, metav1validation.ValidateLabels(ep.DeprecatedTopology, p.Child("deprecatedTopology"))...)
		}
	}
	portPath := field.NewPath("ports")
	if len(es.Ports) > maxEndpointSlicePorts {
		errs = append(errs, field.TooMany(portPath, len(es.Ports), maxEndpointSlicePorts))
	}
	names := sets.New[string]()
	for i, port := range es.Ports {
		p := portPath.Index(i)
		if port.Name != nil && *port.Name != "" {
			errs = append(errs, invalidMsgs(p.Child("name"), *port.Name, utilvalidation.IsDNS1123Label(*port.Name))...)
		}
		name := ""
		if port.Name != nil {
			name = *port.Name
		}
		if names.Has(name) {
			errs = append(errs, field.Duplicate(p.Child("name"), name))
		}
		names.Insert(name)
		if port.Port != nil {
			errs = append(errs, invalidMsgs(p.Child("port"), *port.Port, utilvalidation.IsValidPortNum(int(*port.Port)))...)
		}
		if port.Protocol == nil {
			errs = append(errs, field.Required(p.Child("protocol"), ""))
		} else {
			errs = append(errs, validateEnum(*port.Protocol, supportedPortProtocols, p.Child("protocol"))...)
		}
		if port.AppProtocol != nil {
			errs = append(errs, invalidMsgs(p.Child("appProtocol"), *port.AppProtocol, utilvalidation.IsQualifiedName(*port.AppProtocol))...)
		}
	}
	return errs
}

func validateSliceAddress(t discoveryv1.AddressType, addr string, p *field.Path) field.ErrorList {
	switch t {
	case discoveryv1.AddressTypeIPv4:
		a, err := netip.ParseAddr(addr)
		if err != nil || !a.Is4() {
			return field.ErrorList{field.Invalid(p, addr, "must be a valid IPv4 address")}
		}
	case discoveryv1.AddressTypeIPv6:
		a, err := netip.ParseAddr(addr)
		if err != nil || !a.Is6() || a.Is4In6() {
			return field.ErrorList{field.Invalid(p, addr, "must be a valid IPv6 address")}
		}
	case discoveryv1.AddressTypeFQDN:
		return utilvalidation.IsFullyQualifiedDomainName(p, addr)
	}
	return nil
}

// validateEndpointSliceUpdate: addressType is immutable.
func validateEndpointSliceUpdate(newES, oldES *discoveryv1.EndpointSlice) field.ErrorList {
	return apimachineryvalidation.ValidateImmutableField(newES.AddressType, oldES.AddressType, field.NewPath("addressType"))
}
