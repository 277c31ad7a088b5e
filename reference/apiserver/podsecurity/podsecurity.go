package podsecurity

import (
	"context"
	"errors"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/warning"
	"k8s.io/client-go/kubernetes"
	psadmission "k8s.io/pod-security-admission/admission"
	psaconfig "k8s.io/pod-security-admission/admission/api"
	psapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/metrics"
	"k8s.io/pod-security-admission/policy"

	"github.com/clusterkit/clusterkit/reference/apiserver"
)

// Defaults are the levels of a namespace without Pod Security labels, each "privileged",
// "baseline" or "restricted" ("" is privileged), with versions "latest" or "v1.X" ("" is
// latest). Each label a namespace has overrides its default.
type Defaults struct {
	Enforce, EnforceVersion string
	Audit, AuditVersion     string
	Warn, WarnVersion       string
}

// Level returns Defaults enforcing, auditing and warning about one level at its latest version
// (kube-apiserver's --admission-control-config-file with one level for all three; clusterkit
// up uses baseline).
func Level(level string) Defaults {
	return Defaults{Enforce: level, Audit: level, Warn: level}
}

// Exemptions are requests Pod Security does not check. The zero value exempts nothing.
type Exemptions struct {
	Usernames, Namespaces, RuntimeClasses []string
}

// Plugin is the Pod Security admission plugin. It validates creates and updates of pods,
// namespaces and workloads with pod templates. It reads namespaces and pods from the reference
// API server's storage (SetObjectReader) or, in another server, through a client
// (SetExternalKubeClientSet).
type Plugin struct {
	delegate *psadmission.Admission
}

var (
	_ admission.ValidationInterface     = (*Plugin)(nil)
	_ admission.InitializationValidator = (*Plugin)(nil)
)

// New returns the plugin with the default levels and exemptions given.
func New(defaults Defaults, exemptions Exemptions) (*Plugin, error) {
	orLatest := func(v string) string {
		if v == "" {
			return psapi.VersionLatest
		}
		return v
	}
	orPrivileged := func(l string) string {
		if l == "" {
			return string(psapi.LevelPrivileged)
		}
		return l
	}
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		return nil, fmt.Errorf("podsecurity: %w", err)
	}
	a := &psadmission.Admission{
		Configuration: &psaconfig.PodSecurityConfiguration{
			Defaults: psaconfig.PodSecurityDefaults{
				Enforce: orPrivileged(defaults.Enforce), EnforceVersion: orLatest(defaults.EnforceVersion),
				Audit: orPrivileged(defaults.Audit), AuditVersion: orLatest(defaults.AuditVersion),
				Warn: orPrivileged(defaults.Warn), WarnVersion: orLatest(defaults.WarnVersion),
			},
			Exemptions: psaconfig.PodSecurityExemptions{
				Usernames: exemptions.Usernames, Namespaces: exemptions.Namespaces, RuntimeClasses: exemptions.RuntimeClasses,
			},
		},
		Evaluator:        evaluator,
		Metrics:          noMetrics{},
		PodSpecExtractor: psadmission.DefaultPodSpecExtractor{},
	}
	if err := a.CompleteConfiguration(); err != nil {
		return nil, fmt.Errorf("podsecurity: %w", err)
	}
	return &Plugin{delegate: a}, nil
}

// SetObjectReader makes the plugin read namespaces and pods straight from the API server's
// storage (apiserver.WantsObjectReader; the API server calls it).
func (p *Plugin) SetObjectReader(r apiserver.ObjectReader) {
	p.delegate.NamespaceGetter = storageReader{r}
	p.delegate.PodLister = storageReader{r}
}

// storageReader is the namespace getter and pod lister of the admission library over an
// apiserver.ObjectReader.
type storageReader struct{ r apiserver.ObjectReader }

func (s storageReader) GetNamespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	obj, err := s.r.Get(ctx, corev1.SchemeGroupVersion.WithResource("namespaces"), "", name)
	if err != nil {
		return nil, err
	}
	ns, ok := obj.(*corev1.Namespace)
	if !ok {
		return nil, fmt.Errorf("namespace %s is a %T", name, obj)
	}
	return ns, nil
}

func (s storageReader) ListPods(ctx context.Context, namespace string) ([]*corev1.Pod, error) {
	objs, err := s.r.List(ctx, corev1.SchemeGroupVersion.WithResource("pods"), namespace)
	if err != nil {
		return nil, err
	}
	pods := make([]*corev1.Pod, 0, len(objs))
	for _, o := range objs {
		if p, ok := o.(*corev1.Pod); ok {
			pods = append(pods, p)
		}
	}
	return pods, nil
}

// SetExternalKubeClientSet gives the plugin the client it reads namespaces and pods with
// (k8s.io/apiserver's initializer.WantsExternalKubeClientSet; the API server calls it).
func (p *Plugin) SetExternalKubeClientSet(client kubernetes.Interface) {
	p.delegate.NamespaceGetter = psadmission.NamespaceGetterFromClient(client)
	p.delegate.PodLister = psadmission.PodListerFromClient(client)
}

// ValidateInitialization reports a plugin that was not given a client or whose configuration
// is invalid (an unknown level or version).
func (p *Plugin) ValidateInitialization() error {
	if err := p.delegate.ValidateConfiguration(); err != nil {
		return fmt.Errorf("podsecurity: %w", err)
	}
	return nil
}

// Handles reports that the plugin checks creates and updates.
func (p *Plugin) Handles(op admission.Operation) bool {
	return op == admission.Create || op == admission.Update
}

var (
	podsResource       = corev1.Resource("pods")
	namespacesResource = corev1.Resource("namespaces")
)

// Validate checks one write. A violation of the enforced level is kube-apiserver's 403
// Forbidden (pods "x" is forbidden: violates PodSecurity "baseline:latest": ...); warn-level
// violations become Warning headers of the answer.
func (p *Plugin) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	gr := a.GetResource().GroupResource()
	if gr != podsResource && gr != namespacesResource && !p.delegate.PodSpecExtractor.HasPodSpec(gr) {
		return nil
	}
	var username string
	if u := a.GetUserInfo(); u != nil {
		username = u.GetName()
	}
	attrs := &psapi.AttributesRecord{
		Name:        a.GetName(),
		Namespace:   a.GetNamespace(),
		Kind:        a.GetKind(),
		Resource:    a.GetResource(),
		Subresource: a.GetSubresource(),
		Operation:   admissionv1.Operation(a.GetOperation()),
		Object:      a.GetObject(),
		OldObject:   a.GetOldObject(),
		Username:    username,
	}
	result := p.delegate.Validate(ctx, attrs)
	for _, w := range result.Warnings {
		warning.AddWarning(ctx, "", w)
	}
	if result.Allowed {
		return nil
	}
	// As kube-apiserver: a generic Forbidden, with the message, reason, details and code of the
	// admission library's answer when it has them.
	err := admission.NewForbidden(a, errors.New("Not allowed by PodSecurity"))
	var status *apierrors.StatusError
	if !errors.As(err, &status) {
		return err
	}
	if r := result.Result; r != nil {
		if r.Message != "" {
			status.ErrStatus.Message = r.Message
		}
		if r.Reason != "" {
			status.ErrStatus.Reason = r.Reason
		}
		if r.Details != nil {
			status.ErrStatus.Details = r.Details
		}
		if r.Code != 0 {
			status.ErrStatus.Code = r.Code
		}
	}
	return status
}

// noMetrics records nothing: the reference API server has no metrics endpoint.
type noMetrics struct{}

func (noMetrics) RecordEvaluation(metrics.Decision, psapi.LevelVersion, metrics.Mode, psapi.Attributes) {
}
func (noMetrics) RecordExemption(psapi.Attributes)   {}
func (noMetrics) RecordError(bool, psapi.Attributes) {}
