package validation

import (
	"strings"
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var (
	tInvalid      = field.ErrorTypeInvalid
	tRequired     = field.ErrorTypeRequired
	tNotSupported = field.ErrorTypeNotSupported
	tForbidden    = field.ErrorTypeForbidden
	tDuplicate    = field.ErrorTypeDuplicate
	tTooLong      = field.ErrorTypeTooLong
	tTooMany      = field.ErrorTypeTooMany
)

func TestValidateNodeCreate(t *testing.T) {
	runCreateCases(t, validNode, []mutCase[*corev1.Node]{
		{"taint key invalid", func(n *corev1.Node) { n.Spec.Taints[0].Key = "bad key" }, []fe{{tInvalid, "spec.taints[0].key"}}},
		{"taint key empty", func(n *corev1.Node) { n.Spec.Taints[0].Key = "" }, []fe{{tRequired, "spec.taints[0].key"}}},
		{"taint effect required", func(n *corev1.Node) { n.Spec.Taints[0].Effect = "" }, []fe{{tRequired, "spec.taints[0].effect"}}},
		{"taint effect bad", func(n *corev1.Node) { n.Spec.Taints[0].Effect = "NoRun" }, []fe{{tNotSupported, "spec.taints[0].effect"}}},
		{"taint value invalid", func(n *corev1.Node) { n.Spec.Taints[0].Value = "a b" }, []fe{{tInvalid, "spec.taints[0].value"}}},
		{"duplicate taint", func(n *corev1.Node) { n.Spec.Taints = append(n.Spec.Taints, n.Spec.Taints[0]) }, []fe{{tDuplicate, "spec.taints[1]"}}},
		{"same key other effect ok", func(n *corev1.Node) {
			n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: n.Spec.Taints[0].Key, Effect: corev1.TaintEffectNoExecute})
		}, nil},
		{"podCIDR invalid", func(n *corev1.Node) { n.Spec.PodCIDR, n.Spec.PodCIDRs = "10.244.1.0", nil }, []fe{{tInvalid, "spec.podCIDR"}}},
		{"podCIDRs mismatch", func(n *corev1.Node) { n.Spec.PodCIDRs = []string{"10.244.2.0/24"} }, []fe{{tInvalid, "spec.podCIDRs"}}},
		{"negative capacity", func(n *corev1.Node) { n.Status.Capacity[corev1.ResourceCPU] = resource.MustParse("-1") }, []fe{{tInvalid, "status.capacity[cpu]"}}},
		{"address type bad", func(n *corev1.Node) { n.Status.Addresses[0].Type = "PublicIP" }, []fe{{tNotSupported, "status.addresses[0].type"}}},
	})
}

func TestValidateNamespaceCreate(t *testing.T) {
	runCreateCases(t, validNamespace, []mutCase[*corev1.Namespace]{
		{"name with dot", func(ns *corev1.Namespace) { ns.Name = "team.a" }, []fe{{tInvalid, "metadata.name"}}},
		{"name too long", func(ns *corev1.Namespace) { ns.Name = strings.Repeat("a", 64) }, []fe{{tInvalid, "metadata.name"}}},
		{"finalizer not qualified", func(ns *corev1.Namespace) { ns.Spec.Finalizers = append(ns.Spec.Finalizers, "custom") }, []fe{{tInvalid, "spec.finalizers[1]"}}},
		{"prefixed finalizer ok", func(ns *corev1.Namespace) { ns.Spec.Finalizers = append(ns.Spec.Finalizers, "example.com/x") }, nil},
	})
}

func TestValidateEndpointsCreate(t *testing.T) {
	runCreateCases(t, validEndpoints, []mutCase[*corev1.Endpoints]{
		{"subset without addresses", func(e *corev1.Endpoints) {
			e.Subsets[0].Addresses, e.Subsets[0].NotReadyAddresses = nil, nil
		}, []fe{{tRequired, "subsets[0]"}}},
		{"bad IP", func(e *corev1.Endpoints) { e.Subsets[0].Addresses[0].IP = "10.1.1" }, []fe{{tInvalid, "subsets[0].addresses[0].ip"}}},
		{"unspecified IP", func(e *corev1.Endpoints) { e.Subsets[0].Addresses[0].IP = "0.0.0.0" }, []fe{{tInvalid, "subsets[0].addresses[0].ip"}}},
		{"link-local IP", func(e *corev1.Endpoints) { e.Subsets[0].Addresses[0].IP = "169.254.1.1" }, []fe{{tInvalid, "subsets[0].addresses[0].ip"}}},
		{"bad hostname", func(e *corev1.Endpoints) { e.Subsets[0].NotReadyAddresses[0].Hostname = "a.b" }, []fe{{tInvalid, "subsets[0].notReadyAddresses[0].hostname"}}},
		{"ports required", func(e *corev1.Endpoints) { e.Subsets[0].Ports = nil }, []fe{{tRequired, "subsets[0].ports"}}},
		{"port name required with several", func(e *corev1.Endpoints) { e.Subsets[0].Ports[1].Name = "" }, []fe{{tRequired, "subsets[0].ports[1].name"}}},
		{"duplicate port name", func(e *corev1.Endpoints) { e.Subsets[0].Ports[1].Name = "http" }, []fe{{tDuplicate, "subsets[0].ports[1].name"}}},
		{"port out of range", func(e *corev1.Endpoints) { e.Subsets[0].Ports[0].Port = 0 }, []fe{{tInvalid, "subsets[0].ports[0].port"}}},
		{"bad protocol", func(e *corev1.Endpoints) { e.Subsets[0].Ports[0].Protocol = "X" }, []fe{{tNotSupported, "subsets[0].ports[0].protocol"}}},
	})
}

func TestValidateEventCreate(t *testing.T) {
	runCreateCases(t, validEvent, []mutCase[*corev1.Event]{
		{"involved object in other namespace", func(e *corev1.Event) { e.InvolvedObject.Namespace = "other" }, []fe{{tInvalid, "involvedObject.namespace"}}},
		{"cluster-scoped object in default ok", func(e *corev1.Event) { e.InvolvedObject = corev1.ObjectReference{Kind: "Node", Name: "node-1"} }, nil},
		{"cluster-scoped object in other namespace", func(e *corev1.Event) {
			e.Namespace = "team-a"
			e.InvolvedObject = corev1.ObjectReference{Kind: "Node", Name: "node-1"}
		}, []fe{{tInvalid, "involvedObject.namespace"}}},
		// Without eventTime (the core/v1 recorder's events) kube-apiserver checks the namespace only.
		{"legacy long reason and message ok", func(e *corev1.Event) {
			e.Reason, e.Message = strings.Repeat("r", 129), strings.Repeat("m", 4097)
		}, nil},
		{"legacy any type ok", func(e *corev1.Event) { e.Type = "Error" }, nil},
		{"namespace required", func(e *corev1.Event) { e.Namespace = ""; e.InvolvedObject.Namespace = "" }, []fe{{tRequired, "metadata.namespace"}}},
		// With eventTime (the events.k8s.io recorder's) the reporter, action and reason are required.
		// As upstream: an empty reportingController is also not a qualified name (two messages).
		{"eventTime without reporter", func(e *corev1.Event) { e.EventTime = metav1.NowMicro(); e.Reason = "" }, []fe{
			{tInvalid, "reportingController"}, {tInvalid, "reportingController"},
			{tRequired, "action"}, {tRequired, "reason"}, {tRequired, "reportingController"}, {tRequired, "reportingInstance"}}},
		{"eventTime complete ok", func(e *corev1.Event) {
			e.EventTime, e.ReportingController, e.ReportingInstance, e.Action = metav1.NowMicro(), "example.com/ctl", "ctl-1", "Act"
		}, nil},
		{"eventTime reason too long", func(e *corev1.Event) {
			e.EventTime, e.ReportingController, e.ReportingInstance, e.Action = metav1.NowMicro(), "example.com/ctl", "ctl-1", "Act"
			e.Reason = strings.Repeat("r", 129)
		}, []fe{{tInvalid, "reason"}}},
		{"eventTime message too long", func(e *corev1.Event) {
			e.EventTime, e.ReportingController, e.ReportingInstance, e.Action = metav1.NowMicro(), "example.com/ctl", "ctl-1", "Act"
			e.Message = strings.Repeat("m", 1025)
		}, []fe{{tInvalid, "message"}}},
	})
}

func TestValidateConfigMapCreate(t *testing.T) {
	runCreateCases(t, validConfigMap, []mutCase[*corev1.ConfigMap]{
		{"bad key", func(c *corev1.ConfigMap) { c.Data["a/b"] = "x" }, []fe{{tInvalid, "data[a/b]"}}},
		{"bad binary key", func(c *corev1.ConfigMap) { c.BinaryData[".."] = nil }, []fe{{tInvalid, "binaryData[..]"}}},
		{"key in both", func(c *corev1.ConfigMap) { c.BinaryData["LOG_LEVEL"] = []byte("x") }, []fe{{tInvalid, "binaryData[LOG_LEVEL]"}}},
		{"too large", func(c *corev1.ConfigMap) { c.Data["big"] = strings.Repeat("x", 1<<20) }, []fe{{tTooLong, "data"}}},
		{"just under limit ok", func(c *corev1.ConfigMap) {
			c.Data = map[string]string{"big": strings.Repeat("x", 1<<20-3)}
		}, nil},
	})
}

func TestValidateSmallKinds(t *testing.T) {
	t.Run("binding", func(t *testing.T) {
		runCreateCases(t, validBinding, []mutCase[*corev1.Binding]{
			{"target name required", func(b *corev1.Binding) { b.Target.Name = "" }, []fe{{tRequired, "target.name"}}},
			{"target kind must be Node", func(b *corev1.Binding) { b.Target.Kind = "Pod" }, []fe{{tNotSupported, "target.kind"}}},
			{"empty kind ok", func(b *corev1.Binding) { b.Target.Kind = "" }, nil},
		})
	})
	t.Run("eviction", func(t *testing.T) {
		runCreateCases(t, validEviction, []mutCase[*policyv1.Eviction]{
			{"name required", func(e *policyv1.Eviction) { e.Name = "" }, []fe{{tRequired, "metadata.name"}}},
			{"negative grace", func(e *policyv1.Eviction) {
				e.DeleteOptions = &metav1.DeleteOptions{GracePeriodSeconds: ptrTo(int64(-1))}
			}, []fe{{tInvalid, "deleteOptions.gracePeriodSeconds"}}},
		})
	})
	t.Run("scale", func(t *testing.T) {
		runCreateCases(t, validScale, []mutCase[*autoscalingv1.Scale]{
			{"negative replicas", func(s *autoscalingv1.Scale) { s.Spec.Replicas = -1 }, []fe{{tInvalid, "spec.replicas"}}},
			{"zero ok", func(s *autoscalingv1.Scale) { s.Spec.Replicas = 0 }, nil},
		})
	})
	t.Run("lease", func(t *testing.T) {
		runCreateCases(t, validLease, []mutCase[*coordinationv1.Lease]{
			{"zero duration", func(l *coordinationv1.Lease) { l.Spec.LeaseDurationSeconds = ptrTo(int32(0)) }, []fe{{tInvalid, "spec.leaseDurationSeconds"}}},
			{"negative transitions", func(l *coordinationv1.Lease) { l.Spec.LeaseTransitions = ptrTo(int32(-1)) }, []fe{{tInvalid, "spec.leaseTransitions"}}},
			{"whitespace holder", func(l *coordinationv1.Lease) { l.Spec.HolderIdentity = ptrTo("  ") }, []fe{{tInvalid, "spec.holderIdentity"}}},
			{"no holder ok", func(l *coordinationv1.Lease) { l.Spec.HolderIdentity = nil }, nil},
		})
	})
	t.Run("endpointslice", func(t *testing.T) {
		runCreateCases(t, validEndpointSlice, []mutCase[*discoveryv1.EndpointSlice]{
			{"addressType required", func(e *discoveryv1.EndpointSlice) { e.AddressType = "" }, []fe{{tRequired, "addressType"}}},
			{"addressType bad", func(e *discoveryv1.EndpointSlice) { e.AddressType = "IPv5" }, []fe{{tNotSupported, "addressType"}}},
			{"IPv6 in IPv4 slice", func(e *discoveryv1.EndpointSlice) { e.Endpoints[0].Addresses[0] = "fd00::1" }, []fe{{tInvalid, "endpoints[0].addresses[0]"}}},
			{"IPv6 slice ok", func(e *discoveryv1.EndpointSlice) {
				e.AddressType = discoveryv1.AddressTypeIPv6
				e.Endpoints[0].Addresses[0] = "fd00::1"
			}, nil},
			{"FQDN invalid", func(e *discoveryv1.EndpointSlice) {
				e.AddressType = discoveryv1.AddressTypeFQDN
				e.Endpoints[0].Addresses[0] = "Not_A_Name"
			}, []fe{{tInvalid, "endpoints[0].addresses[0]"}}},
			{"no addresses", func(e *discoveryv1.EndpointSlice) { e.Endpoints[0].Addresses = nil }, []fe{{tRequired, "endpoints[0].addresses"}}},
			{"too many endpoints", func(e *discoveryv1.EndpointSlice) {
				e.Endpoints = make([]discoveryv1.Endpoint, 1001)
				for i := range e.Endpoints {
					e.Endpoints[i].Addresses = []string{"10.0.0.1"}
				}
			}, []fe{{tTooMany, "endpoints"}}},
			{"bad nodeName", func(e *discoveryv1.EndpointSlice) { e.Endpoints[0].NodeName = ptrTo("Node_1") }, []fe{{tInvalid, "endpoints[0].nodeName"}}},
			{"port out of range", func(e *discoveryv1.EndpointSlice) { e.Ports[0].Port = ptrTo(int32(70000)) }, []fe{{tInvalid, "ports[0].port"}}},
			{"duplicate port name", func(e *discoveryv1.EndpointSlice) { e.Ports = append(e.Ports, e.Ports[0]) }, []fe{{tDuplicate, "ports[1].name"}}},
			{"bad port name", func(e *discoveryv1.EndpointSlice) { e.Ports[0].Name = ptrTo("Http") }, []fe{{tInvalid, "ports[0].name"}}},
			{"bad protocol", func(e *discoveryv1.EndpointSlice) { e.Ports[0].Protocol = ptrTo(corev1.Protocol("X")) }, []fe{{tNotSupported, "ports[0].protocol"}}},
		})
	})
}
