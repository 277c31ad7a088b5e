package nodeauthz

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// A kind of object a pod can reference and a node may therefore read.
type refKind int

const (
	secretRef refKind = iota
	configMapRef
	pvcRef
	serviceAccountRef
)

func (k refKind) String() string {
	switch k {
	case secretRef:
		return "secret"
	case configMapRef:
		return "configmap"
	case pvcRef:
		return "persistentvolumeclaim"
	case serviceAccountRef:
		return "serviceaccount"
	}
	return "object"
}

// podReferences reports whether pod uses the object of kind named name (in the pod's
// namespace).
func podReferences(pod *corev1.Pod, kind refKind, name string) bool {
	return slices.Contains(podObjectNames(pod, kind), name)
}

// podObjectNames are the names of the objects of kind the pod uses (in its namespace): through
// a volume, a projected volume's source, an env or envFrom of any container, an image pull
// secret, or as its ServiceAccount — the edges of upstream's node graph that start at a pod.
func podObjectNames(pod *corev1.Pod, kind refKind) []string {
	var names []string
	add := func(n string) {
		if n != "" {
			names = append(names, n)
		}
	}
	switch kind {
	case serviceAccountRef:
		sa := pod.Spec.ServiceAccountName
		if sa == "" {
			sa = "default"
		}
		return []string{sa}
	case secretRef:
		for _, s := range pod.Spec.ImagePullSecrets {
			add(s.Name)
		}
	}
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		switch kind {
		case secretRef:
			if v.Secret != nil {
				add(v.Secret.SecretName)
			}
			for _, ref := range []*corev1.LocalObjectReference{secretOf(v.CSI), secretOfISCSI(v.ISCSI), secretOfRBD(v.RBD), secretOfCephFS(v.CephFS)} {
				if ref != nil {
					add(ref.Name)
				}
			}
			if v.AzureFile != nil {
				add(v.AzureFile.SecretName)
			}
		case configMapRef:
			if v.ConfigMap != nil {
				add(v.ConfigMap.Name)
			}
		case pvcRef:
			if v.PersistentVolumeClaim != nil {
				add(v.PersistentVolumeClaim.ClaimName)
			}
			// A generic ephemeral volume's claim is named POD-VOLUME.
			if v.Ephemeral != nil {
				add(pod.Name + "-" + v.Name)
			}
		}
		if v.Projected != nil {
			for _, src := range v.Projected.Sources {
				if kind == secretRef && src.Secret != nil {
					add(src.Secret.Name)
				}
				if kind == configMapRef && src.ConfigMap != nil {
					add(src.ConfigMap.Name)
				}
			}
		}
	}
	if kind == pvcRef {
		return names
	}
	visit := func(env []corev1.EnvVar, from []corev1.EnvFromSource) {
		for _, e := range env {
			if e.ValueFrom == nil {
				continue
			}
			if kind == secretRef && e.ValueFrom.SecretKeyRef != nil {
				add(e.ValueFrom.SecretKeyRef.Name)
			}
			if kind == configMapRef && e.ValueFrom.ConfigMapKeyRef != nil {
				add(e.ValueFrom.ConfigMapKeyRef.Name)
			}
		}
		for _, f := range from {
			if kind == secretRef && f.SecretRef != nil {
				add(f.SecretRef.Name)
			}
			if kind == configMapRef && f.ConfigMapRef != nil {
				add(f.ConfigMapRef.Name)
			}
		}
	}
	for _, c := range pod.Spec.InitContainers {
		visit(c.Env, c.EnvFrom)
	}
	for _, c := range pod.Spec.Containers {
		visit(c.Env, c.EnvFrom)
	}
	for _, c := range pod.Spec.EphemeralContainers {
		visit(c.Env, c.EnvFrom)
	}
	return names
}

func secretOf(v *corev1.CSIVolumeSource) *corev1.LocalObjectReference {
	if v == nil {
		return nil
	}
	return v.NodePublishSecretRef
}

func secretOfISCSI(v *corev1.ISCSIVolumeSource) *corev1.LocalObjectReference {
	if v == nil {
		return nil
	}
	return v.SecretRef
}

func secretOfRBD(v *corev1.RBDVolumeSource) *corev1.LocalObjectReference {
	if v == nil {
		return nil
	}
	return v.SecretRef
}

func secretOfCephFS(v *corev1.CephFSVolumeSource) *corev1.LocalObjectReference {
	if v == nil {
		return nil
	}
	return v.SecretRef
}
