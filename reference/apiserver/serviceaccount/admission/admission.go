package admission

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/storage/names"
	"k8s.io/utils/ptr"

	"github.com/clusterkit/clusterkit/reference/apiserver"
)

// Names and paths of the token volume, as kube-apiserver's.
const (
	// DefaultServiceAccountName is the ServiceAccount of a pod that names none.
	DefaultServiceAccountName = "default"
	// VolumeNamePrefix starts the name of the token volume (kube-api-access-xxxxx).
	VolumeNamePrefix = "kube-api-access-"
	// MountPath is where every container sees the token volume.
	MountPath = "/var/run/secrets/kubernetes.io/serviceaccount"
	// TokenExpirationSeconds is the token's requested lifetime (a little over an hour, so
	// that tokens the API server extends are told apart).
	TokenExpirationSeconds = 3607
	// RootCAConfigMap and RootCAKey hold the cluster's CA bundle in every namespace.
	RootCAConfigMap = "kube-root-ca.crt"
	RootCAKey       = "ca.crt"
)

// Plugin is the ServiceAccount admission plugin: a mutating and validating
// k8s.io/apiserver admission.Interface for pod creates.
type Plugin struct {
	reader apiserver.ObjectReader
	// names generates the token volume's random suffix.
	names names.NameGenerator
}

var (
	_ admission.MutationInterface       = (*Plugin)(nil)
	_ admission.ValidationInterface     = (*Plugin)(nil)
	_ admission.InitializationValidator = (*Plugin)(nil)
	_ apiserver.WantsObjectReader       = (*Plugin)(nil)
)

// New returns the plugin. The reference API server gives it its object reader
// (apiserver.WantsObjectReader) when it starts; NewWithReader gives one directly.
func New() *Plugin { return &Plugin{names: names.SimpleNameGenerator} }

// NewWithReader returns the plugin reading ServiceAccounts with r.
func NewWithReader(r apiserver.ObjectReader) *Plugin {
	p := New()
	p.reader = r
	return p
}

// SetObjectReader implements apiserver.WantsObjectReader.
func (p *Plugin) SetObjectReader(r apiserver.ObjectReader) { p.reader = r }

// ValidateInitialization reports a plugin without an object reader.
func (p *Plugin) ValidateInitialization() error {
	if p.reader == nil {
		return errors.New("serviceaccount admission: no object reader")
	}
	return nil
}

// Handles reports that the plugin acts on creates.
func (p *Plugin) Handles(op admission.Operation) bool { return op == admission.Create }

var podsResource = corev1.Resource("pods")

// pod returns the pod a request creates, or nil when the plugin ignores the request.
func pod(a admission.Attributes) *corev1.Pod {
	if a.GetOperation() != admission.Create || a.GetResource().GroupResource() != podsResource || a.GetSubresource() != "" {
		return nil
	}
	p, _ := a.GetObject().(*corev1.Pod)
	return p
}

func isMirror(p *corev1.Pod) bool {
	_, ok := p.Annotations[corev1.MirrorPodAnnotationKey]
	return ok
}

// Admit defaults the pod's ServiceAccount, checks it exists and mounts its token.
func (p *Plugin) Admit(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	pod := pod(a)
	if pod == nil || isMirror(pod) {
		return nil
	}
	if pod.Spec.ServiceAccountName == "" {
		pod.Spec.ServiceAccountName = DefaultServiceAccountName
	}
	sa, err := p.serviceAccount(ctx, a)
	if err != nil {
		return err
	}
	if len(pod.Spec.ImagePullSecrets) == 0 && len(sa.ImagePullSecrets) > 0 {
		pod.Spec.ImagePullSecrets = append([]corev1.LocalObjectReference(nil), sa.ImagePullSecrets...)
	}
	if automount(sa, pod) {
		p.mountToken(pod)
	}
	return nil
}

// Validate refuses mirror pods that reference a ServiceAccount, Secrets or ConfigMaps, and
// pods whose ServiceAccount is unnamed or missing.
func (p *Plugin) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	pod := pod(a)
	if pod == nil {
		return nil
	}
	if isMirror(pod) {
		return validateMirror(a, pod)
	}
	if pod.Spec.ServiceAccountName == "" {
		return admission.NewForbidden(a, fmt.Errorf("no service account specified for pod %s/%s", a.GetNamespace(), pod.Name))
	}
	_, err := p.serviceAccount(ctx, a)
	return err
}

// serviceAccount reads the pod's ServiceAccount; a missing one is kube-apiserver's 403.
func (p *Plugin) serviceAccount(ctx context.Context, a admission.Attributes) (*corev1.ServiceAccount, error) {
	pod := a.GetObject().(*corev1.Pod)
	ns, name := a.GetNamespace(), pod.Spec.ServiceAccountName
	obj, err := p.reader.Get(ctx, corev1.SchemeGroupVersion.WithResource("serviceaccounts"), ns, name)
	if apierrors.IsNotFound(err) {
		err = apierrors.NewNotFound(corev1.Resource("serviceaccount"), name)
	}
	if err != nil {
		return nil, admission.NewForbidden(a, fmt.Errorf("error looking up service account %s/%s: %w", ns, name, err))
	}
	sa, ok := obj.(*corev1.ServiceAccount)
	if !ok {
		return nil, fmt.Errorf("serviceaccount admission: ServiceAccount %s/%s is a %T", ns, name, obj)
	}
	return sa, nil
}

// automount: the pod's automountServiceAccountToken decides, else the ServiceAccount's, else
// true.
func automount(sa *corev1.ServiceAccount, pod *corev1.Pod) bool {
	if pod.Spec.AutomountServiceAccountToken != nil {
		return *pod.Spec.AutomountServiceAccountToken
	}
	if sa.AutomountServiceAccountToken != nil {
		return *sa.AutomountServiceAccountToken
	}
	return true
}

// mountToken mounts the token volume in every container that has nothing at MountPath, adding
// the volume when a container needs it and the pod has none yet.
func (p *Plugin) mountToken(pod *corev1.Pod) {
	name, has := "", false
	for _, v := range pod.Spec.Volumes {
		if strings.HasPrefix(v.Name, VolumeNamePrefix) {
			name, has = v.Name, true
			break
		}
	}
	if name == "" {
		name = p.names.GenerateName(VolumeNamePrefix)
	}
	mount := corev1.VolumeMount{Name: name, ReadOnly: true, MountPath: MountPath}
	needed := false
	add := func(cs []corev1.Container) {
		for i := range cs {
			mounted := false
			for _, m := range cs[i].VolumeMounts {
				if m.MountPath == MountPath {
					mounted = true
					break
				}
			}
			if !mounted {
				cs[i].VolumeMounts = append(cs[i].VolumeMounts, mount)
				needed = true
			}
		}
	}
	add(pod.Spec.InitContainers)
	add(pod.Spec.Containers)
	if needed && !has {
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Projected: TokenVolumeSource()}})
	}
}

// TokenVolumeSource is the projected source of the token volume: token, ca.crt and namespace,
// mode 0644.
func TokenVolumeSource() *corev1.ProjectedVolumeSource {
	return &corev1.ProjectedVolumeSource{
		DefaultMode: ptr.To[int32](corev1.ProjectedVolumeSourceDefaultMode),
		Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{ExpirationSeconds: ptr.To[int64](TokenExpirationSeconds), Path: "token"}},
			{ConfigMap: &corev1.ConfigMapProjection{
				LocalObjectReference: corev1.LocalObjectReference{Name: RootCAConfigMap},
				Items:                []corev1.KeyToPath{{Key: RootCAKey, Path: RootCAKey}},
			}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{
				{Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}},
			}}},
		},
	}
}

// validateMirror refuses a mirror pod that references what only the API server may give a pod.
func validateMirror(a admission.Attributes, pod *corev1.Pod) error {
	if pod.Spec.ServiceAccountName != "" {
		return admission.NewForbidden(a, errors.New("a mirror pod may not reference service accounts"))
	}
	for _, v := range pod.Spec.Volumes {
		switch {
		case v.Secret != nil:
			return admission.NewForbidden(a, fmt.Errorf("volume %s has secret volume source; mirror pods may not reference secrets", v.Name))
		case v.Projected != nil:
			for _, s := range v.Projected.Sources {
				switch {
				case s.Secret != nil:
					return admission.NewForbidden(a, fmt.Errorf("volume %s has secret projected volume source; mirror pods may not reference secrets", v.Name))
				case s.ConfigMap != nil:
					return admission.NewForbidden(a, fmt.Errorf("volume %s has configmap projected volume source; mirror pods may not reference configmaps", v.Name))
				case s.ServiceAccountToken != nil:
					return admission.NewForbidden(a, fmt.Errorf("volume %s has service account token projected volume source; mirror pods may not reference service accounts", v.Name))
				}
			}
		}
	}
	return nil
}
