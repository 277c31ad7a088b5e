package dns

import (
	"context"
	"fmt"
	"net/netip"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// Names of the add-on's objects, kubeadm's.
const (
	AddonNamespace   = "kube-system"
	DeploymentName   = "coredns"
	ServiceName      = "kube-dns"
	ServiceAccount   = "coredns"
	ClusterRoleName  = "system:coredns"
	AppLabel         = "k8s-app"
	AppLabelValue    = "kube-dns"
	DefaultReplicas  = 2
	MetricsPort      = 9153
	HealthPort       = 8080
	ReadyPort        = 8181
	DNSPort          = 53
	defaultCriticalP = "system-cluster-critical"
)

// AddonConfig describes the cluster DNS add-on.
type AddonConfig struct {
	// Image runs the server program (reference/dns/cmd/clusterdns); required.
	Image string
	// ClusterIP of Service kube-dns: set it, or give ServiceCIDR to take its 10th address.
	ClusterIP   string
	ServiceCIDR string
	// Domain is the cluster domain (default cluster.local).
	Domain string
	// Replicas of Deployment coredns (default 2).
	Replicas int32
}

// ClusterDNSIP is the 10th address of a Service CIDR (10.96.0.10 of 10.96.0.0/12), where
// kubeadm puts the cluster DNS Service.
func ClusterDNSIP(serviceCIDR string) (netip.Addr, error) {
	p, err := netip.ParsePrefix(serviceCIDR)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("service CIDR %q: %w", serviceCIDR, err)
	}
	a := p.Masked().Addr()
	for range 10 {
		a = a.Next()
	}
	if !p.Contains(a) {
		return netip.Addr{}, fmt.Errorf("service CIDR %q has no 10th address", serviceCIDR)
	}
	return a, nil
}

func (c AddonConfig) withDefaults() (AddonConfig, error) {
	if c.Image == "" {
		return c, fmt.Errorf("cluster dns add-on: an image is required")
	}
	if c.Domain == "" {
		c.Domain = DefaultDomain
	}
	if c.Replicas == 0 {
		c.Replicas = DefaultReplicas
	}
	if c.ClusterIP == "" {
		a, err := ClusterDNSIP(c.ServiceCIDR)
		if err != nil {
			return c, fmt.Errorf("cluster dns add-on: %w", err)
		}
		c.ClusterIP = a.String()
	}
	return c, nil
}

// Addon is the add-on's objects, in the order they are created.
type Addon struct {
	ServiceAccount     *corev1.ServiceAccount
	ClusterRole        *rbacv1.ClusterRole
	ClusterRoleBinding *rbacv1.ClusterRoleBinding
	Deployment         *appsv1.Deployment
	Service            *corev1.Service
}

// Objects returns the add-on's objects for cfg.
func Objects(cfg AddonConfig) (*Addon, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	labels := map[string]string{AppLabel: AppLabelValue}
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: AddonNamespace, Labels: map[string]string{AppLabel: AppLabelValue}}
	}
	a := &Addon{}
	a.ServiceAccount = &corev1.ServiceAccount{ObjectMeta: meta(ServiceAccount)}
	a.ClusterRole = &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: ClusterRoleName},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"endpoints", "services", "pods", "namespaces"}, Verbs: []string{"list", "watch"}},
			{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: []string{"list", "watch"}},
		},
	}
	a.ClusterRoleBinding = &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: ClusterRoleName},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: ClusterRoleName},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: ServiceAccount, Namespace: AddonNamespace}},
	}
	a.Deployment = &appsv1.Deployment{
		ObjectMeta: meta(DeploymentName),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(cfg.Replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Strategy: appsv1.DeploymentStrategy{
				Type:          appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: ptr.To(intstr.FromInt32(1))},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					ServiceAccountName: ServiceAccount,
					PriorityClassName:  defaultCriticalP,
					// The server forwards other names to the node's resolvers: its own resolv.conf
					// must be the node's.
					DNSPolicy:    corev1.DNSDefault,
					NodeSelector: map[string]string{corev1.LabelOSStable: "linux"},
					Tolerations: []corev1.Toleration{
						{Key: "CriticalAddonsOnly", Operator: corev1.TolerationOpExists},
						{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule},
					},
					Affinity: &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
						PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
							Weight: 100,
							PodAffinityTerm: corev1.PodAffinityTerm{
								LabelSelector: &metav1.LabelSelector{MatchLabels: labels},
								TopologyKey:   corev1.LabelHostname,
							},
						}},
					}},
					Containers: []corev1.Container{{
						Name:            "coredns",
						Image:           cfg.Image,
						ImagePullPolicy: corev1.PullIfNotPresent,
						Args:            []string{"--domain", cfg.Domain, "--listen", fmt.Sprintf(":%d", DNSPort)},
						Ports: []corev1.ContainerPort{
							{Name: "dns", ContainerPort: DNSPort, Protocol: corev1.ProtocolUDP},
							{Name: "dns-tcp", ContainerPort: DNSPort, Protocol: corev1.ProtocolTCP},
							{Name: "metrics", ContainerPort: MetricsPort, Protocol: corev1.ProtocolTCP},
							{Name: "liveness-probe", ContainerPort: HealthPort, Protocol: corev1.ProtocolTCP},
							{Name: "readiness-probe", ContainerPort: ReadyPort, Protocol: corev1.ProtocolTCP},
						},
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{
								corev1.ResourceCPU:    mustQuantity("100m"),
								corev1.ResourceMemory: mustQuantity("70Mi"),
							},
							Limits: corev1.ResourceList{corev1.ResourceMemory: mustQuantity("170Mi")},
						},
						LivenessProbe: &corev1.Probe{
							ProbeHandler:        corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/health", Port: intstr.FromString("liveness-probe")}},
							InitialDelaySeconds: 60, TimeoutSeconds: 5, SuccessThreshold: 1, FailureThreshold: 5,
						},
						ReadinessProbe: &corev1.Probe{
							ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromString("readiness-probe")}},
							PeriodSeconds: 2, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3,
						},
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: ptr.To(false),
							Capabilities:             &corev1.Capabilities{Add: []corev1.Capability{"NET_BIND_SERVICE"}, Drop: []corev1.Capability{"ALL"}},
							ReadOnlyRootFilesystem:   ptr.To(true),
						},
					}},
				},
			},
		},
	}
	a.Service = &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Name: ServiceName, Namespace: AddonNamespace,
			Labels:      map[string]string{AppLabel: AppLabelValue, "kubernetes.io/name": "CoreDNS"},
			Annotations: map[string]string{"prometheus.io/port": fmt.Sprint(MetricsPort), "prometheus.io/scrape": "true"},
		},
		Spec: corev1.ServiceSpec{
			Selector:  labels,
			ClusterIP: cfg.ClusterIP,
			Ports: []corev1.ServicePort{
				{Name: "dns", Port: DNSPort, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(DNSPort)},
				{Name: "dns-tcp", Port: DNSPort, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(DNSPort)},
				{Name: "metrics", Port: MetricsPort, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(MetricsPort)},
			},
		},
	}
	return a, nil
}

// Install creates the add-on's objects that do not exist yet (an object already there is
// left as it is), as `kubeadm init phase addon coredns` does.
func Install(ctx context.Context, client kubernetes.Interface, cfg AddonConfig) error {
	a, err := Objects(cfg)
	if err != nil {
		return err
	}
	created := func(what string, err error) error {
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("cluster dns add-on: creating %s: %w", what, err)
		}
		return nil
	}
	if _, err := client.CoreV1().ServiceAccounts(AddonNamespace).Create(ctx, a.ServiceAccount, metav1.CreateOptions{}); created("ServiceAccount "+ServiceAccount, err) != nil {
		return created("ServiceAccount "+ServiceAccount, err)
	}
	if _, err := client.RbacV1().ClusterRoles().Create(ctx, a.ClusterRole, metav1.CreateOptions{}); created("ClusterRole", err) != nil {
		return created("ClusterRole", err)
	}
	if _, err := client.RbacV1().ClusterRoleBindings().Create(ctx, a.ClusterRoleBinding, metav1.CreateOptions{}); created("ClusterRoleBinding", err) != nil {
		return created("ClusterRoleBinding", err)
	}
	if _, err := client.AppsV1().Deployments(AddonNamespace).Create(ctx, a.Deployment, metav1.CreateOptions{}); created("Deployment "+DeploymentName, err) != nil {
		return created("Deployment "+DeploymentName, err)
	}
	if _, err := client.CoreV1().Services(AddonNamespace).Create(ctx, a.Service, metav1.CreateOptions{}); created("Service "+ServiceName, err) != nil {
		return created("Service "+ServiceName, err)
	}
	return nil
}

func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }
