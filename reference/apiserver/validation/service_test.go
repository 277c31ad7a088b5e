package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestValidateServiceCreate(t *testing.T) {
	I, R, N, F, D := field.ErrorTypeInvalid, field.ErrorTypeRequired, field.ErrorTypeNotSupported, field.ErrorTypeForbidden, field.ErrorTypeDuplicate
	runCreateCases(t, validService, []mutCase[*corev1.Service]{
		{"name must be DNS-1035", func(s *corev1.Service) { s.Name = "1web" }, []fe{{I, "metadata.name"}}},
		{"ports required", func(s *corev1.Service) { s.Spec.Ports = nil }, []fe{{R, "spec.ports"}}},
		{"headless without ports ok", func(s *corev1.Service) {
			s.Spec.Ports = nil
			s.Spec.ClusterIP, s.Spec.ClusterIPs = corev1.ClusterIPNone, []string{corev1.ClusterIPNone}
		}, nil},
		{"ports required for NodePort", func(s *corev1.Service) {
			s.Spec.Ports = nil
			s.Spec.Type = corev1.ServiceTypeNodePort
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
		}, []fe{{R, "spec.ports"}}},
		{"port zero", func(s *corev1.Service) { s.Spec.Ports[0].Port = 0 }, []fe{{I, "spec.ports[0].port"}}},
		{"port too big", func(s *corev1.Service) { s.Spec.Ports[1].Port = 65536 }, []fe{{I, "spec.ports[1].port"}}},
		{"name required with several ports", func(s *corev1.Service) { s.Spec.Ports[1].Name = "" }, []fe{{R, "spec.ports[1].name"}}},
		{"single port may be unnamed", func(s *corev1.Service) { s.Spec.Ports = s.Spec.Ports[:1]; s.Spec.Ports[0].Name = "" }, nil},
		{"duplicate port name", func(s *corev1.Service) { s.Spec.Ports[1].Name = "http" }, []fe{{D, "spec.ports[1].name"}}},
		{"duplicate port and protocol", func(s *corev1.Service) { s.Spec.Ports[1].Port = 80 }, []fe{{D, "spec.ports[1]"}}},
		{"bad protocol", func(s *corev1.Service) { s.Spec.Ports[0].Protocol = "HTTP" }, []fe{{N, "spec.ports[0].protocol"}}},
		{"targetPort out of range", func(s *corev1.Service) { s.Spec.Ports[1].TargetPort = intstr.FromInt32(70000) }, []fe{{I, "spec.ports[1].targetPort"}}},
		{"targetPort bad name", func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromString("-http") }, []fe{{I, "spec.ports[0].targetPort"}}},
		{"nodePort on ClusterIP", func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 30080 }, []fe{{F, "spec.ports[0].nodePort"}}},
		{"nodePort on NodePort ok", func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeNodePort
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
			s.Spec.Ports[0].NodePort = 30080
		}, nil},
		{"NodePort without externalTrafficPolicy", func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeNodePort }, []fe{{R, "spec.externalTrafficPolicy"}}},
		{"externalTrafficPolicy on ClusterIP", func(s *corev1.Service) { s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal }, []fe{{I, "spec.externalTrafficPolicy"}}},
		{"bad type", func(s *corev1.Service) { s.Spec.Type = "Magic" }, []fe{{N, "spec.type"}}},
		{"selector invalid", func(s *corev1.Service) { s.Spec.Selector["bad key"] = "x" }, []fe{{I, "spec.selector"}}},
		{"bad sessionAffinity", func(s *corev1.Service) { s.Spec.SessionAffinity = "Sticky" }, []fe{{N, "spec.sessionAffinity"}}},
		{"ClientIP timeout too big", func(s *corev1.Service) {
			s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
			s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptrTo(int32(90000))}}
		}, []fe{{I, "spec.sessionAffinityConfig.clientIP.timeoutSeconds"}}},
		{"clusterIP not an IP", func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.0.0.300", []string{"10.0.0.300"} }, []fe{{I, "spec.clusterIP"}, {I, "spec.clusterIPs[0]"}}},
		{"clusterIP valid", func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.10", []string{"10.96.0.10"} }, nil},
		{"clusterIPs disagree", func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.10", []string{"10.96.0.11"} }, []fe{{I, "spec.clusterIPs"}}},
		{"headless NodePort", func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeNodePort
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
			s.Spec.ClusterIP, s.Spec.ClusterIPs = corev1.ClusterIPNone, []string{corev1.ClusterIPNone}
		}, []fe{{I, "spec.clusterIPs[0]"}}},
		{"externalName required", func(s *corev1.Service) {
			s.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, SessionAffinity: corev1.ServiceAffinityNone}
		}, []fe{{R, "spec.externalName"}}},
		{"externalName valid", func(s *corev1.Service) {
			s.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com.", SessionAffinity: corev1.ServiceAffinityNone}
		}, nil},
		{"externalIP invalid", func(s *corev1.Service) { s.Spec.ExternalIPs = []string{"nope"} }, []fe{{I, "spec.externalIPs[0]"}}},
	})
}
