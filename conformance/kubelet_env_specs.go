package conformance

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// Sources of the kubelet's environment behaviours.
const (
	srcDownwardEnv = "Kubernetes: Expose Pod Information to Containers Through Environment Variables (kubernetes.io/docs/tasks/inject-data-application/environment-variable-expose-pod-information); upstream e2e common/node/downwardapi.go (\"should provide default limits.cpu/memory from node allocatable\", \"pod name, namespace and IP address as env vars\")"
	srcEnvFrom     = "Kubernetes: Configure all key-value pairs in a ConfigMap as container environment variables, envFrom with prefix (kubernetes.io/docs/tasks/configure-pod-container/configure-pod-configmap); upstream e2e common/node/configmap.go \"should be consumable via the environment\""
	srcServiceEnv  = "Kubernetes: Service, discovering services, environment variables (kubernetes.io/docs/concepts/services-networking/service/#environment-variables); upstream e2e common/node/pods.go \"should contain environment variables for services\""
	srcServiceLink = "Kubernetes: PodSpec enableServiceLinks (\"Indicates whether information about services should be injected into pod's environment variables, matching the syntax of Docker links\"); the kubernetes Service's variables are always set"
	srcExpansion   = "Kubernetes: Define Dependent Environment Variables and Define a Command and Arguments, $(VAR) references and the $$ escape (kubernetes.io/docs/tasks/inject-data-application/define-interdependent-environment-variables); upstream e2e common/node/expansion.go"
)

func kubeletEnvSpecs() []spec[*kubeletEnv] {
	return []spec[*kubeletEnv]{
		{kubeletBehavior("kubelet.env.field-and-resource-refs",
			"a container's env from fieldRef MUST hold the pod's name, namespace, uid, a label, an annotation, its node, ServiceAccount, host IP and pod IP, and from resourceFieldRef its requests and limits in units of the divisor rounded up, an unset limit being the node's allocatable",
			srcDownwardEnv), specEnvFieldAndResourceRefs},
		{kubeletBehavior("kubelet.env.envfrom-prefix",
			"envFrom MUST put every key of a ConfigMap (with its prefix) and of a Secret in the container's environment, an optional missing source MUST be skipped, and a variable of env MUST take precedence over one of envFrom",
			srcEnvFrom), specEnvFromPrefix},
		{kubeletBehavior("kubelet.env.service-variables",
			"a container MUST get the Docker-link variables of each Service of its namespace that existed when it started (FOO_SERVICE_HOST, FOO_SERVICE_PORT, FOO_SERVICE_PORT_<NAME>, FOO_PORT, FOO_PORT_<port>_TCP with _PROTO, _PORT and _ADDR) and the kubernetes Service's (KUBERNETES_SERVICE_HOST ...)",
			srcServiceEnv), specServiceVariables},
		{kubeletBehavior("kubelet.env.service-links-disabled",
			"with enableServiceLinks false a container MUST NOT get the variables of its namespace's Services but MUST still get the kubernetes Service's (KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT)",
			srcServiceLink), specServiceLinksDisabled},
		{kubeletBehavior("kubelet.env.expansion",
			"$(VAR) references in env values, command and args MUST be expanded with the variables defined before them, $$ MUST escape a $ and a reference to an undefined variable MUST stay as written",
			srcExpansion), specEnvExpansion},
	}
}

// envOf runs ckimage env in the pod's container c and returns the variables.
func (e *kubeletEnv) envOf(ctx context.Context, g gomega.Gomega, pod string) map[string]string {
	out := e.run(ctx, g, pod, "c", "env")
	vars := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, found := strings.Cut(line, "="); found {
			vars[k] = v
		}
	}
	return vars
}

func specEnvFieldAndResourceRefs(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	field := func(path string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: path}}
	}
	res := func(r, divisor string) *corev1.EnvVarSource {
		s := &corev1.ResourceFieldSelector{Resource: r}
		if divisor != "" {
			s.Divisor = resource.MustParse(divisor)
		}
		return &corev1.EnvVarSource{ResourceFieldRef: s}
	}
	p := e.testPod("fields", "serve-hostname")
	p.Labels = map[string]string{"app": "envtest"}
	p.Annotations = map[string]string{"note": "hello"}
	c := &p.Spec.Containers[0]
	c.Resources = corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")},
	}
	c.Env = []corev1.EnvVar{
		{Name: "POD_NAME", ValueFrom: field("metadata.name")},
		{Name: "POD_NAMESPACE", ValueFrom: field("metadata.namespace")},
		{Name: "POD_UID", ValueFrom: field("metadata.uid")},
		{Name: "POD_LABEL", ValueFrom: field("metadata.labels['app']")},
		{Name: "POD_ANNOTATION", ValueFrom: field("metadata.annotations['note']")},
		{Name: "NODE_NAME", ValueFrom: field("spec.nodeName")},
		{Name: "SA_NAME", ValueFrom: field("spec.serviceAccountName")},
		{Name: "HOST_IP", ValueFrom: field("status.hostIP")},
		{Name: "POD_IP", ValueFrom: field("status.podIP")},
		{Name: "CPU_REQUEST", ValueFrom: res("requests.cpu", "1m")},
		{Name: "CPU_REQUEST_CORES", ValueFrom: res("requests.cpu", "")},
		{Name: "MEMORY_REQUEST", ValueFrom: res("requests.memory", "")},
		{Name: "MEMORY_LIMIT", ValueFrom: res("limits.memory", "1Mi")},
		{Name: "CPU_LIMIT", ValueFrom: res("limits.cpu", "1m")},
	}
	e.create(ctx, g, p)
	running := e.waitPod(ctx, g, "fields", "Running", startTimeout, isRunning)
	node, err := e.client.CoreV1().Nodes().Get(ctx, e.k.Node, metav1.GetOptions{})
	ok(g, err, "reading the node")
	env := e.envOf(ctx, g, "fields")
	alloc := node.Status.Allocatable[corev1.ResourceCPU]
	for name, want := range map[string]string{
		"POD_NAME": "fields", "POD_NAMESPACE": e.ns, "POD_UID": string(running.UID), "POD_LABEL": "envtest", "POD_ANNOTATION": "hello",
		"NODE_NAME": e.k.Node, "SA_NAME": running.Spec.ServiceAccountName, "HOST_IP": running.Status.HostIP, "POD_IP": running.Status.PodIP,
		"CPU_REQUEST": "250", "CPU_REQUEST_CORES": "1", "MEMORY_REQUEST": fmt.Sprint(32 << 20), "MEMORY_LIMIT": "64",
		"CPU_LIMIT": fmt.Sprint(alloc.MilliValue()),
	} {
		got, set := env[name]
		g.Expect(set).To(gomega.BeTrue(), "%s is not in the environment", name)
		g.Expect(got).To(gomega.Equal(want), "%s", name)
	}
}

func specEnvFromPrefix(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	_, err := e.client.CoreV1().ConfigMaps(e.ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "settings"}, Data: map[string]string{"mode": "fast", "level": "3"},
	}, metav1.CreateOptions{})
	ok(g, err, "creating the ConfigMap")
	_, err = e.client.CoreV1().Secrets(e.ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "login"}, Data: map[string][]byte{"DB_USER": []byte("admin")},
	}, metav1.CreateOptions{})
	ok(g, err, "creating the Secret")
	p := e.testPod("envfrom", "serve-hostname")
	c := &p.Spec.Containers[0]
	c.EnvFrom = []corev1.EnvFromSource{
		{Prefix: "CM_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}},
		{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "login"}}},
		{Prefix: "GONE_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}, Optional: ptr.To(true)}},
	}
	c.Env = []corev1.EnvVar{{Name: "CM_level", Value: "override"}}
	e.create(ctx, g, p)
	e.waitPod(ctx, g, "envfrom", "Running (an optional missing envFrom source is skipped)", startTimeout, isRunning)
	env := e.envOf(ctx, g, "envfrom")
	g.Expect(env).To(gomega.HaveKeyWithValue("CM_mode", "fast"), "the ConfigMap's key with the prefix")
	g.Expect(env).To(gomega.HaveKeyWithValue("DB_USER", "admin"), "the Secret's key")
	g.Expect(env).To(gomega.HaveKeyWithValue("CM_level", "override"), "env takes precedence over envFrom")
	g.Expect(env).NotTo(gomega.HaveKey("mode"), "the ConfigMap's key without its prefix")
}

// fooService creates the Service fooservice (port 8765 named http) and returns its ClusterIP.
func (e *kubeletEnv) fooService(ctx context.Context, g gomega.Gomega) string {
	svc, err := e.client.CoreV1().Services(e.ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "fooservice"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "none"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 8765, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}}},
	}, metav1.CreateOptions{})
	ok(g, err, "creating the Service")
	g.Expect(svc.Spec.ClusterIP).NotTo(gomega.BeEmpty(), "the Service's ClusterIP")
	return svc.Spec.ClusterIP
}

// envPodSeeing starts pod name (tweaked by edit) until its environment has FOOSERVICE_SERVICE_HOST
// — a kubelet may learn of a new Service a moment after it is created, so up to three pods are
// tried, as upstream's spec does — and returns the last pod's environment.
func (e *kubeletEnv) envPodSeeing(ctx context.Context, g gomega.Gomega, name string, edit func(*corev1.Pod)) map[string]string {
	var env map[string]string
	for attempt := range 3 {
		pod := fmt.Sprintf("%s-%d", name, attempt)
		p := e.testPod(pod, "serve-hostname")
		if edit != nil {
			edit(p)
		}
		e.create(ctx, g, p)
		e.waitPod(ctx, g, pod, "Running", startTimeout, isRunning)
		env = e.envOf(ctx, g, pod)
		if _, seen := env["FOOSERVICE_SERVICE_HOST"]; seen {
			return env
		}
		time.Sleep(2 * time.Second)
	}
	return env
}

func specServiceVariables(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	ip := e.fooService(ctx, g)
	env := e.envPodSeeing(ctx, g, "client", nil)
	for name, want := range map[string]string{
		"FOOSERVICE_SERVICE_HOST":        ip,
		"FOOSERVICE_SERVICE_PORT":        "8765",
		"FOOSERVICE_SERVICE_PORT_HTTP":   "8765",
		"FOOSERVICE_PORT":                "tcp://" + joinHostPort(ip, "8765"),
		"FOOSERVICE_PORT_8765_TCP":       "tcp://" + joinHostPort(ip, "8765"),
		"FOOSERVICE_PORT_8765_TCP_PROTO": "tcp",
		"FOOSERVICE_PORT_8765_TCP_PORT":  "8765",
		"FOOSERVICE_PORT_8765_TCP_ADDR":  ip,
	} {
		g.Expect(env).To(gomega.HaveKeyWithValue(name, want), "the Service variable %s", name)
	}
	for _, name := range []string{"KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "KUBERNETES_PORT"} {
		g.Expect(env[name]).NotTo(gomega.BeEmpty(), "the kubernetes Service's variable %s", name)
	}
}

func joinHostPort(ip, port string) string {
	if strings.Contains(ip, ":") {
		return "[" + ip + "]:" + port
	}
	return ip + ":" + port
}

func specServiceLinksDisabled(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	e.fooService(ctx, g)
	// First a pod with links, so that the kubelet is known to have seen the Service.
	env := e.envPodSeeing(ctx, g, "linked", nil)
	g.Expect(env).To(gomega.HaveKey("FOOSERVICE_SERVICE_HOST"), "a pod with service links gets the Service's variables")
	p := e.testPod("unlinked", "serve-hostname")
	p.Spec.EnableServiceLinks = ptr.To(false)
	e.create(ctx, g, p)
	e.waitPod(ctx, g, "unlinked", "Running", startTimeout, isRunning)
	env = e.envOf(ctx, g, "unlinked")
	var links []string
	for name := range env {
		if strings.HasPrefix(name, "FOOSERVICE_") {
			links = append(links, name)
		}
	}
	slices.Sort(links)
	g.Expect(links).To(gomega.BeEmpty(), "enableServiceLinks false: no variables of the namespace's Services")
	g.Expect(env["KUBERNETES_SERVICE_HOST"]).NotTo(gomega.BeEmpty(), "KUBERNETES_SERVICE_HOST with enableServiceLinks false")
	g.Expect(env["KUBERNETES_SERVICE_PORT"]).NotTo(gomega.BeEmpty(), "KUBERNETES_SERVICE_PORT with enableServiceLinks false")
}

func specEnvExpansion(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	p := e.testPod("expand", "echo", "$(B)", "$(C)", "$(D)", "$$(A)", "$(A)$(A)")
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	p.Spec.Containers[0].Env = []corev1.EnvVar{
		{Name: "A", Value: "alpha"},
		{Name: "B", Value: "$(A)-beta"},
		{Name: "C", Value: "$$(A)"},
		{Name: "D", Value: "$(UNDEFINED)"},
	}
	e.create(ctx, g, p)
	done := e.waitPod(ctx, g, "expand", "Succeeded", startTimeout, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	if done == nil {
		return
	}
	b, err := e.client.CoreV1().Pods(e.ns).GetLogs("expand", &corev1.PodLogOptions{Container: "c"}).DoRaw(ctx)
	ok(g, err, "reading the log")
	g.Expect(strings.TrimSpace(string(b))).To(gomega.Equal("alpha-beta $(A) $(UNDEFINED) $(A) alphaalpha"),
		"args $(B) $(C) $(D) $$(A) $(A)$(A) with B=$(A)-beta, C=$$(A), D=$(UNDEFINED)")
}
