package kubelet

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

// envFor resolves a container's environment as the kubelet does: the variables of envFrom
// (Secrets and ConfigMaps, with their prefix; keys that are no valid variable names are skipped
// with an InvalidEnvironmentVariableNames event), then env (plain values with $(VAR) references
// expanded against the variables before and the Service variables, downward API fields,
// resources, Secret and ConfigMap keys), then the Docker-link style variables of the Services of
// the pod's namespace (unless enableServiceLinks is false) and always of the default/kubernetes
// Service (KUBERNETES_SERVICE_HOST ... which rest.InClusterConfig reads), each only where the
// container did not set it. A missing Secret, ConfigMap or key that is not optional is an error
// (CreateContainerConfigError).
func (k *Kubelet) envFor(ctx context.Context, pod *corev1.Pod, c *corev1.Container, podIP string) ([]corev1.EnvVar, error) {
	var out []corev1.EnvVar
	index := map[string]int{}
	set := func(name, value string) {
		if i, ok := index[name]; ok {
			out[i].Value = value
			return
		}
		index[name] = len(out)
		out = append(out, corev1.EnvVar{Name: name, Value: value})
	}
	for _, from := range c.EnvFrom {
		data, kind, name, err := k.envSource(ctx, pod.Namespace, from)
		if err != nil {
			return nil, err
		}
		keys := make([]string, 0, len(data))
		for key := range data {
			keys = append(keys, key)
		}
		sort.Strings(keys)
		var invalid []string
		for _, key := range keys {
			if len(validation.IsRelaxedEnvVarName(from.Prefix+key)) != 0 {
				invalid = append(invalid, from.Prefix+key)
				continue
			}
			set(from.Prefix+key, data[key])
		}
		if len(invalid) > 0 {
			k.podWarning(ctx, pod, "InvalidEnvironmentVariableNames", fmt.Sprintf(
				"Keys [%s] from the EnvFrom %s %s/%s were skipped since they are considered invalid environment variable names.",
				strings.Join(invalid, ", "), kind, pod.Namespace, name))
		}
	}
	// A static pod does not wait for the Services: it may be the API server they come from
	// (Kubernetes' kubelet starts static pods before its Service informer has synced too).
	services, err := k.serviceEnv(pod)
	if err != nil && !isStatic(pod) {
		return nil, err
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			vals := map[string]string{}
			for _, s := range services {
				vals[s.Name] = s.Value
			}
			for _, o := range out {
				vals[o.Name] = o.Value
			}
			set(e.Name, expandOne(e.Value, vals))
			continue
		}
		v, found, err := k.envValue(ctx, pod, c, e.ValueFrom, podIP)
		if err != nil {
			return nil, err
		}
		if found {
			set(e.Name, v)
		}
	}
	for _, s := range services {
		if _, ok := index[s.Name]; !ok {
			set(s.Name, s.Value)
		}
	}
	return out, nil
}

// podWarning records a Warning event on pod through its worker (once per message).
func (k *Kubelet) podWarning(ctx context.Context, pod *corev1.Pod, reason, msg string) {
	k.mu.Lock()
	w := k.workers[pod.UID]
	k.mu.Unlock()
	if w != nil {
		w.warn(ctx, pod, "", reason, msg)
	}
}

// expandOne substitutes $(VAR) references in s with vals, as Kubernetes expands env values,
// command and args: $$ is an escaped $, a reference to an unknown variable and an unclosed
// $( stay as written.
func expandOne(s string, vals map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := vals[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// envSource reads the keys of an envFrom Secret or ConfigMap; kind and name name it in events.
func (k *Kubelet) envSource(ctx context.Context, ns string, from corev1.EnvFromSource) (data map[string]string, kind, name string, err error) {
	out := map[string]string{}
	switch {
	case from.SecretRef != nil:
		name = from.SecretRef.Name
		s, err := k.secret(ctx, ns, name)
		if apierrors.IsNotFound(err) && from.SecretRef.Optional != nil && *from.SecretRef.Optional {
			return out, "secret", name, nil
		}
		if apierrors.IsNotFound(err) {
			return nil, "", "", apierrors.NewNotFound(corev1.Resource("secret"), name)
		}
		if err != nil {
			return nil, "", "", err
		}
		for key, b := range s.Data {
			out[key] = string(b)
		}
		return out, "secret", name, nil
	case from.ConfigMapRef != nil:
		name = from.ConfigMapRef.Name
		cm, err := k.configMap(ctx, ns, name)
		if apierrors.IsNotFound(err) && from.ConfigMapRef.Optional != nil && *from.ConfigMapRef.Optional {
			return out, "configMap", name, nil
		}
		if apierrors.IsNotFound(err) {
			return nil, "", "", apierrors.NewNotFound(corev1.Resource("configmap"), name)
		}
		if err != nil {
			return nil, "", "", err
		}
		for key, v := range cm.Data {
			out[key] = v
		}
		return out, "configMap", name, nil
	}
	return out, "", "", nil
}

// envValue resolves one valueFrom of container c; found is false for an optional reference
// that is missing.
func (k *Kubelet) envValue(ctx context.Context, pod *corev1.Pod, c *corev1.Container, from *corev1.EnvVarSource, podIP string) (value string, found bool, err error) {
	switch {
	case from.FieldRef != nil:
		v, err := k.fieldValue(pod, from.FieldRef.FieldPath, podIP)
		return v, err == nil, err
	case from.ResourceFieldRef != nil:
		ref := from.ResourceFieldRef
		if ref.ContainerName == "" {
			// In env the container is the one being started.
			ref = ref.DeepCopy()
			ref.ContainerName = c.Name
		}
		v, err := k.resourceValue(ctx, pod, ref)
		return v, err == nil, err
	case from.SecretKeyRef != nil:
		ref := from.SecretKeyRef
		optional := ref.Optional != nil && *ref.Optional
		s, err := k.secret(ctx, pod.Namespace, ref.Name)
		if apierrors.IsNotFound(err) {
			if optional {
				return "", false, nil
			}
			return "", false, apierrors.NewNotFound(corev1.Resource("secret"), ref.Name)
		}
		if err != nil {
			return "", false, err
		}
		b, ok := s.Data[ref.Key]
		if !ok {
			if optional {
				return "", false, nil
			}
			return "", false, fmt.Errorf("couldn't find key %s in Secret %s/%s", ref.Key, pod.Namespace, ref.Name)
		}
		return string(b), true, nil
	case from.ConfigMapKeyRef != nil:
		ref := from.ConfigMapKeyRef
		optional := ref.Optional != nil && *ref.Optional
		cm, err := k.configMap(ctx, pod.Namespace, ref.Name)
		if apierrors.IsNotFound(err) {
			if optional {
				return "", false, nil
			}
			return "", false, apierrors.NewNotFound(corev1.Resource("configmap"), ref.Name)
		}
		if err != nil {
			return "", false, err
		}
		v, ok := cm.Data[ref.Key]
		if !ok {
			if b, bok := cm.BinaryData[ref.Key]; bok {
				return string(b), true, nil
			}
			if optional {
				return "", false, nil
			}
			return "", false, fmt.Errorf("couldn't find key %s in ConfigMap %s/%s", ref.Key, pod.Namespace, ref.Name)
		}
		return v, true, nil
	}
	return "", false, nil
}

// startServiceInformer starts watching every Service of the cluster (the system:node role
// may list and watch them) for the Service environment variables; it returns the informer's
// HasSynced and a function that stops it (after ctx ends) and waits for its goroutines.
func (k *Kubelet) startServiceInformer(ctx context.Context) (cache.InformerSynced, func()) {
	factory := informers.NewSharedInformerFactory(k.client, 0)
	inf := factory.Core().V1().Services()
	informer := inf.Informer()
	lister := inf.Lister()
	k.mu.Lock()
	k.services = func() ([]*corev1.Service, error) {
		if !informer.HasSynced() {
			return nil, errors.New("services have not yet been read at least once, cannot construct envvars")
		}
		return lister.List(labels.Everything())
	}
	k.mu.Unlock()
	factory.Start(ctx.Done())
	return informer.HasSynced, factory.Shutdown
}

// serviceEnv is the Docker-link style variables of the Services a pod sees: those of its
// namespace when enableServiceLinks is not false, and default/kubernetes always (a Service
// named kubernetes in the pod's namespace takes its place when links are enabled), sorted
// by Service name.
func (k *Kubelet) serviceEnv(pod *corev1.Pod) ([]corev1.EnvVar, error) {
	k.mu.Lock()
	list := k.services
	k.mu.Unlock()
	if list == nil {
		return nil, errors.New("services have not yet been read at least once, cannot construct envvars")
	}
	all, err := list()
	if err != nil {
		return nil, err
	}
	links := pod.Spec.EnableServiceLinks == nil || *pod.Spec.EnableServiceLinks
	chosen := map[string]*corev1.Service{}
	for _, s := range all {
		if ip := s.Spec.ClusterIP; ip == "" || ip == corev1.ClusterIPNone {
			continue
		}
		switch {
		case links && s.Namespace == pod.Namespace:
			chosen[s.Name] = s
		case s.Namespace == metav1.NamespaceDefault && s.Name == "kubernetes":
			if _, ok := chosen[s.Name]; !ok {
				chosen[s.Name] = s
			}
		}
	}
	names := make([]string, 0, len(chosen))
	for n := range chosen {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []corev1.EnvVar
	for _, n := range names {
		out = append(out, linkVariables(chosen[n])...)
	}
	return out, nil
}

// linkVariables are one Service's variables: NAME_SERVICE_HOST, NAME_SERVICE_PORT (the first
// port), NAME_SERVICE_PORT_<PORTNAME> per named port, NAME_PORT (the first port's URL) and per
// port NAME_PORT_<port>_<PROTO> with its _PROTO, _PORT and _ADDR.
func linkVariables(s *corev1.Service) []corev1.EnvVar {
	if len(s.Spec.Ports) == 0 {
		return nil
	}
	ip := s.Spec.ClusterIP
	name := envName(s.Name)
	first := s.Spec.Ports[0]
	out := []corev1.EnvVar{
		{Name: name + "_SERVICE_HOST", Value: ip},
		{Name: name + "_SERVICE_PORT", Value: strconv.Itoa(int(first.Port))},
	}
	for _, p := range s.Spec.Ports {
		if p.Name != "" {
			out = append(out, corev1.EnvVar{Name: name + "_SERVICE_PORT_" + envName(p.Name), Value: strconv.Itoa(int(p.Port))})
		}
	}
	host := ip
	if strings.Contains(ip, ":") {
		host = "[" + ip + "]"
	}
	for i, p := range s.Spec.Ports {
		proto := string(p.Protocol)
		if proto == "" {
			proto = string(corev1.ProtocolTCP)
		}
		url := fmt.Sprintf("%s://%s:%d", strings.ToLower(proto), host, p.Port)
		if i == 0 {
			out = append(out, corev1.EnvVar{Name: name + "_PORT", Value: url})
		}
		prefix := fmt.Sprintf("%s_PORT_%d_%s", name, p.Port, strings.ToUpper(proto))
		out = append(out,
			corev1.EnvVar{Name: prefix, Value: url},
			corev1.EnvVar{Name: prefix + "_PROTO", Value: strings.ToLower(proto)},
			corev1.EnvVar{Name: prefix + "_PORT", Value: strconv.Itoa(int(p.Port))},
			corev1.EnvVar{Name: prefix + "_ADDR", Value: ip})
	}
	return out
}

// envName is a Service or port name as a variable name: upper case, - as _.
func envName(s string) string {
	return strings.ToUpper(strings.ReplaceAll(s, "-", "_"))
}
