package kubelet

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// envFor resolves a container's environment as the kubelet does: the variables of envFrom
// (Secrets and ConfigMaps, with their prefix), then env (plain values, $(VAR) references to
// the variables before, downward API fields, Secret and ConfigMap keys), then the Docker-link
// style variables of the Services of the pod's namespace (unless enableServiceLinks is false)
// and always of the default/kubernetes Service (KUBERNETES_SERVICE_HOST ... which
// rest.InClusterConfig reads), each only where the container did not set it. A missing Secret,
// ConfigMap or key that is not optional is an error (CreateContainerConfigError).
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
		data, err := k.envSource(ctx, pod.Namespace, from)
		if err != nil {
			return nil, err
		}
		keys := make([]string, 0, len(data))
		for key := range data {
			keys = append(keys, key)
		}
		sort.Strings(keys)
		for _, key := range keys {
			set(from.Prefix+key, data[key])
		}
	}
	services := k.serviceEnv(ctx, pod)
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			vals := map[string]string{}
			for _, o := range out {
				vals[o.Name] = o.Value
			}
			for _, s := range services {
				if _, ok := vals[s.Name]; !ok {
					vals[s.Name] = s.Value
				}
			}
			set(e.Name, expandOne(e.Value, vals))
			continue
		}
		v, found, err := k.envValue(ctx, pod, e.ValueFrom, podIP)
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

// expandOne substitutes $(VAR) references in s; $$ escapes a $.
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

// envSource reads the keys of an envFrom Secret or ConfigMap.
func (k *Kubelet) envSource(ctx context.Context, ns string, from corev1.EnvFromSource) (map[string]string, error) {
	out := map[string]string{}
	switch {
	case from.SecretRef != nil:
		s, err := k.client.CoreV1().Secrets(ns).Get(ctx, from.SecretRef.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) && from.SecretRef.Optional != nil && *from.SecretRef.Optional {
			return out, nil
		}
		if apierrors.IsNotFound(err) {
			return nil, apierrors.NewNotFound(corev1.Resource("secret"), from.SecretRef.Name)
		}
		if err != nil {
			return nil, err
		}
		for key, b := range s.Data {
			out[key] = string(b)
		}
	case from.ConfigMapRef != nil:
		cm, err := k.client.CoreV1().ConfigMaps(ns).Get(ctx, from.ConfigMapRef.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) && from.ConfigMapRef.Optional != nil && *from.ConfigMapRef.Optional {
			return out, nil
		}
		if apierrors.IsNotFound(err) {
			return nil, apierrors.NewNotFound(corev1.Resource("configmap"), from.ConfigMapRef.Name)
		}
		if err != nil {
			return nil, err
		}
		for key, v := range cm.Data {
			out[key] = v
		}
	}
	return out, nil
}

// envValue resolves one valueFrom; found is false for an optional reference that is missing.
func (k *Kubelet) envValue(ctx context.Context, pod *corev1.Pod, from *corev1.EnvVarSource, podIP string) (value string, found bool, err error) {
	switch {
	case from.FieldRef != nil:
		v, err := k.fieldValue(pod, from.FieldRef.FieldPath, podIP)
		return v, err == nil, err
	case from.ResourceFieldRef != nil:
		v, err := resourceValue(pod, from.ResourceFieldRef)
		return v, err == nil, err
	case from.SecretKeyRef != nil:
		ref := from.SecretKeyRef
		optional := ref.Optional != nil && *ref.Optional
		s, err := k.client.CoreV1().Secrets(pod.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
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
		cm, err := k.client.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
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

// serviceEnv is the Docker-link style variables of the Services a pod sees: those of its
// namespace when enableServiceLinks is not false, and default/kubernetes always.
func (k *Kubelet) serviceEnv(ctx context.Context, pod *corev1.Pod) []corev1.EnvVar {
	var svcs []corev1.Service
	if pod.Spec.EnableServiceLinks == nil || *pod.Spec.EnableServiceLinks {
		list, err := k.client.CoreV1().Services(pod.Namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			k.logf("pod %s/%s: listing services for the environment: %v", pod.Namespace, pod.Name, err)
		} else {
			svcs = list.Items
		}
	}
	if pod.Namespace != metav1.NamespaceDefault || len(svcs) == 0 {
		if s, err := k.client.CoreV1().Services(metav1.NamespaceDefault).Get(ctx, "kubernetes", metav1.GetOptions{}); err == nil {
			kept := svcs[:0]
			for _, o := range svcs {
				if o.Name != "kubernetes" {
					kept = append(kept, o)
				}
			}
			svcs = append(kept, *s)
		}
	}
	sort.Slice(svcs, func(i, j int) bool { return svcs[i].Name < svcs[j].Name })
	var out []corev1.EnvVar
	for _, s := range svcs {
		ip := s.Spec.ClusterIP
		if ip == "" || ip == corev1.ClusterIPNone || len(s.Spec.Ports) == 0 {
			continue
		}
		name := strings.ToUpper(strings.ReplaceAll(s.Name, "-", "_"))
		first := s.Spec.Ports[0]
		out = append(out,
			corev1.EnvVar{Name: name + "_SERVICE_HOST", Value: ip},
			corev1.EnvVar{Name: name + "_SERVICE_PORT", Value: strconv.Itoa(int(first.Port))})
		for _, p := range s.Spec.Ports {
			if p.Name != "" {
				out = append(out, corev1.EnvVar{Name: name + "_SERVICE_PORT_" + strings.ToUpper(strings.ReplaceAll(p.Name, "-", "_")), Value: strconv.Itoa(int(p.Port))})
			}
		}
		host := ip
		if strings.Contains(ip, ":") {
			host = "[" + ip + "]"
		}
		out = append(out, corev1.EnvVar{Name: name + "_PORT", Value: fmt.Sprintf("%s://%s:%d", strings.ToLower(string(first.Protocol)), host, first.Port)})
		for _, p := range s.Spec.Ports {
			proto := string(p.Protocol)
			if proto == "" {
				proto = string(corev1.ProtocolTCP)
			}
			prefix := fmt.Sprintf("%s_PORT_%d_%s", name, p.Port, strings.ToUpper(proto))
			out = append(out,
				corev1.EnvVar{Name: prefix, Value: fmt.Sprintf("%s://%s:%d", strings.ToLower(proto), host, p.Port)},
				corev1.EnvVar{Name: prefix + "_PROTO", Value: strings.ToLower(proto)},
				corev1.EnvVar{Name: prefix + "_PORT", Value: strconv.Itoa(int(p.Port))},
				corev1.EnvVar{Name: prefix + "_ADDR", Value: ip})
		}
	}
	return out
}
