package limitranger

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apiserver/pkg/admission"
	resourcehelper "k8s.io/component-helpers/resource"

	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/apiserver/validation"
)

// PluginName is the plugin's name in kube-apiserver's --enable-admission-plugins.
const PluginName = "LimitRanger"

// Annotation lists what the plugin set on a pod.
const Annotation = "kubernetes.io/limit-ranger"

var limitRanges = corev1.SchemeGroupVersion.WithResource("limitranges")

// Plugin is the LimitRanger admission plugin (mutating and validating). It reads LimitRanges
// straight from the server's storage (apiserver.WantsObjectReader).
type Plugin struct {
	*admission.Handler
	reader apiserver.ObjectReader
}

var (
	_ admission.MutationInterface       = (*Plugin)(nil)
	_ admission.ValidationInterface     = (*Plugin)(nil)
	_ admission.InitializationValidator = (*Plugin)(nil)
	_ apiserver.WantsObjectReader       = (*Plugin)(nil)
)

// New returns the plugin. It does not dial.
func New() *Plugin {
	return &Plugin{Handler: admission.NewHandler(admission.Create, admission.Update)}
}

// SetObjectReader takes the server's storage reader.
func (p *Plugin) SetObjectReader(r apiserver.ObjectReader) { p.reader = r }

// ValidateInitialization reports a plugin without its reader.
func (p *Plugin) ValidateInitialization() error {
	if p.reader == nil {
		return errors.New("limitranger: missing object reader")
	}
	return nil
}

// pod returns the pod of a create of the pods resource itself (limits apply to new pods only:
// containers are immutable afterwards), or nil.
func pod(a admission.Attributes) *corev1.Pod {
	if a.GetOperation() != admission.Create || a.GetSubresource() != "" || a.GetResource().GroupResource() != corev1.Resource("pods") {
		return nil
	}
	p, _ := a.GetObject().(*corev1.Pod)
	return p
}

func (p *Plugin) ranges(ctx context.Context, a admission.Attributes) ([]*corev1.LimitRange, error) {
	objs, err := p.reader.List(ctx, limitRanges, a.GetNamespace())
	if err != nil {
		return nil, admission.NewForbidden(a, fmt.Errorf("unable to %s %v at this time because there was an error enforcing limit ranges", a.GetOperation(), a.GetResource()))
	}
	out := make([]*corev1.LimitRange, 0, len(objs))
	for _, o := range objs {
		if lr, ok := o.(*corev1.LimitRange); ok {
			out = append(out, lr)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Admit sets the default requests and limits of the namespace's Container limits on every
// container that lacks them.
func (p *Plugin) Admit(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	pd := pod(a)
	if pd == nil {
		return nil
	}
	items, err := p.ranges(ctx, a)
	if err != nil {
		return err
	}
	for _, lr := range items {
		applyDefaults(pd, lr)
	}
	// clusterkit's server sets status.qosClass when it prepares the create, before mutating
	// admission (kube-apiserver prepares after): the defaults just set may change the class.
	if pd.Status.QOSClass != "" {
		pd.Status.QOSClass = validation.QOSClass(&pd.Spec)
	}
	return nil
}

// Validate refuses a pod outside the min, max or maxLimitRequestRatio of a Container or Pod
// limit.
func (p *Plugin) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	pd := pod(a)
	if pd == nil {
		return nil
	}
	items, err := p.ranges(ctx, a)
	if err != nil {
		return err
	}
	for _, lr := range items {
		if err := check(pd, lr); err != nil {
			return admission.NewForbidden(a, err)
		}
	}
	return nil
}

func sortedNames(list corev1.ResourceList) []corev1.ResourceName {
	out := make([]corev1.ResourceName, 0, len(list))
	for k := range list {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// applyDefaults merges the Container limits' defaultRequest and default into every container
// and init container, and records what it set in the kubernetes.io/limit-ranger annotation.
func applyDefaults(pd *corev1.Pod, lr *corev1.LimitRange) {
	requests, limits := corev1.ResourceList{}, corev1.ResourceList{}
	for _, item := range lr.Spec.Limits {
		if item.Type != corev1.LimitTypeContainer {
			continue
		}
		for k, v := range item.DefaultRequest {
			requests[k] = v.DeepCopy()
		}
		for k, v := range item.Default {
			limits[k] = v.DeepCopy()
		}
	}
	var notes []string
	merge := func(c *corev1.Container, kind string) {
		if c.Resources.Limits == nil {
			c.Resources.Limits = corev1.ResourceList{}
		}
		if c.Resources.Requests == nil {
			c.Resources.Requests = corev1.ResourceList{}
		}
		var setReq, setLim []string
		for _, k := range sortedNames(limits) {
			if _, ok := c.Resources.Limits[k]; !ok {
				c.Resources.Limits[k] = limits[k].DeepCopy()
				setLim = append(setLim, string(k))
			}
		}
		for _, k := range sortedNames(requests) {
			if _, ok := c.Resources.Requests[k]; !ok {
				c.Resources.Requests[k] = requests[k].DeepCopy()
				setReq = append(setReq, string(k))
			}
		}
		if len(setReq) > 0 {
			notes = append(notes, strings.Join(setReq, ", ")+fmt.Sprintf(" request for %s %s", kind, c.Name))
		}
		if len(setLim) > 0 {
			notes = append(notes, strings.Join(setLim, ", ")+fmt.Sprintf(" limit for %s %s", kind, c.Name))
		}
	}
	for i := range pd.Spec.Containers {
		merge(&pd.Spec.Containers[i], "container")
	}
	for i := range pd.Spec.InitContainers {
		merge(&pd.Spec.InitContainers[i], "init container")
	}
	if len(notes) > 0 {
		if pd.Annotations == nil {
			pd.Annotations = map[string]string{}
		}
		pd.Annotations[Annotation] = "LimitRanger plugin set: " + strings.Join(notes, "; ")
	}
}

// check returns every violation of lr by pd: per container for Container limits, on the pod's
// effective requests and limits for Pod limits.
func check(pd *corev1.Pod, lr *corev1.LimitRange) error {
	var errs []error
	apply := func(limitType string, item corev1.LimitRangeItem, requests, limits corev1.ResourceList) {
		for _, k := range sortedNames(item.Min) {
			if err := minConstraint(limitType, string(k), item.Min[k], requests, limits); err != nil {
				errs = append(errs, err)
			}
		}
		for _, k := range sortedNames(item.Max) {
			if err := maxConstraint(limitType, string(k), item.Max[k], requests, limits); err != nil {
				errs = append(errs, err)
			}
		}
		for _, k := range sortedNames(item.MaxLimitRequestRatio) {
			if err := ratioConstraint(limitType, string(k), item.MaxLimitRequestRatio[k], requests, limits); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, item := range lr.Spec.Limits {
		switch item.Type {
		case corev1.LimitTypeContainer:
			for i := range pd.Spec.Containers {
				c := &pd.Spec.Containers[i]
				apply(string(item.Type), item, c.Resources.Requests, c.Resources.Limits)
			}
			for i := range pd.Spec.InitContainers {
				c := &pd.Spec.InitContainers[i]
				apply(string(item.Type), item, c.Resources.Requests, c.Resources.Limits)
			}
		case corev1.LimitTypePod:
			opts := resourcehelper.PodResourcesOptions{}
			apply(string(item.Type), item, resourcehelper.PodRequests(pd, opts), resourcehelper.PodLimits(pd, opts))
		}
	}
	return utilerrors.NewAggregate(errs)
}

// values returns request, limit and enforced at a common precision (milli-units unless that
// would overflow).
func values(req, lim, enforced resource.Quantity) (int64, int64, int64) {
	r, l, e := req.Value(), lim.Value(), enforced.Value()
	if r <= resource.MaxMilliValue && l <= resource.MaxMilliValue && e <= resource.MaxMilliValue {
		return req.MilliValue(), lim.MilliValue(), enforced.MilliValue()
	}
	return r, l, e
}

func minConstraint(limitType, name string, enforced resource.Quantity, requests, limits corev1.ResourceList) error {
	req, hasReq := requests[corev1.ResourceName(name)]
	lim, hasLim := limits[corev1.ResourceName(name)]
	r, l, e := values(req, lim, enforced)
	switch {
	case !hasReq:
		return fmt.Errorf("minimum %s usage per %s is %s.  No request is specified", name, limitType, enforced.String())
	case r < e:
		return fmt.Errorf("minimum %s usage per %s is %s, but request is %s", name, limitType, enforced.String(), req.String())
	case hasLim && l < e:
		return fmt.Errorf("minimum %s usage per %s is %s, but limit is %s", name, limitType, enforced.String(), lim.String())
	}
	return nil
}

func maxConstraint(limitType, name string, enforced resource.Quantity, requests, limits corev1.ResourceList) error {
	req, hasReq := requests[corev1.ResourceName(name)]
	lim, hasLim := limits[corev1.ResourceName(name)]
	r, l, e := values(req, lim, enforced)
	switch {
	case !hasLim:
		return fmt.Errorf("maximum %s usage per %s is %s.  No limit is specified", name, limitType, enforced.String())
	case l > e:
		return fmt.Errorf("maximum %s usage per %s is %s, but limit is %s", name, limitType, enforced.String(), lim.String())
	case hasReq && r > e:
		return fmt.Errorf("maximum %s usage per %s is %s, but request is %s", name, limitType, enforced.String(), req.String())
	}
	return nil
}

func ratioConstraint(limitType, name string, enforced resource.Quantity, requests, limits corev1.ResourceList) error {
	req, hasReq := requests[corev1.ResourceName(name)]
	lim, hasLim := limits[corev1.ResourceName(name)]
	r, l, _ := values(req, lim, enforced)
	if !hasReq || r == 0 {
		return fmt.Errorf("%s max limit to request ratio per %s is %s, but no request is specified or request is 0", name, limitType, enforced.String())
	}
	if !hasLim || l == 0 {
		return fmt.Errorf("%s max limit to request ratio per %s is %s, but no limit is specified or limit is 0", name, limitType, enforced.String())
	}
	observed := float64(l) / float64(r)
	shown, allowed := observed, float64(enforced.Value())
	if enforced.Value() <= resource.MaxMilliValue {
		observed *= 1000
		allowed = float64(enforced.MilliValue())
	}
	if observed > allowed {
		return fmt.Errorf("%s max limit to request ratio per %s is %s, but provided ratio is %f", name, limitType, enforced.String(), shown)
	}
	return nil
}
