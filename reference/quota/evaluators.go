package quota

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/sets"
	k8svalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apiserver/pkg/admission"
	quotav1 "k8s.io/apiserver/pkg/quota/v1"
	"k8s.io/apiserver/pkg/quota/v1/generic"
	resourcehelper "k8s.io/component-helpers/resource"
	"k8s.io/utils/clock"

	"github.com/clusterkit/clusterkit/reference/apiserver/validation"
)

var (
	podsResource     = corev1.SchemeGroupVersion.WithResource("pods")
	servicesResource = corev1.SchemeGroupVersion.WithResource("services")
	podCount         = generic.ObjectCountQuotaResourceNameFor(podsResource.GroupResource())
	serviceCount     = generic.ObjectCountQuotaResourceNameFor(servicesResource.GroupResource())
)

// countedResources are the core resources quota counts under their legacy names as well as
// count/<resource>.
var countedResources = map[schema.GroupVersionResource]corev1.ResourceName{
	corev1.SchemeGroupVersion.WithResource("configmaps"):             corev1.ResourceConfigMaps,
	corev1.SchemeGroupVersion.WithResource("resourcequotas"):         corev1.ResourceQuotas,
	corev1.SchemeGroupVersion.WithResource("replicationcontrollers"): corev1.ResourceReplicationControllers,
	corev1.SchemeGroupVersion.WithResource("secrets"):                corev1.ResourceSecrets,
	corev1.SchemeGroupVersion.WithResource("persistentvolumeclaims"): corev1.ResourcePersistentVolumeClaims,
}

// ignoredResources are never quota'd (kube-apiserver's list: events and the review kinds).
var ignoredResources = map[schema.GroupResource]struct{}{
	{Group: "", Resource: "events"}:                                        {},
	{Group: "events.k8s.io", Resource: "events"}:                           {},
	{Group: "authentication.k8s.io", Resource: "tokenreviews"}:             {},
	{Group: "authentication.k8s.io", Resource: "selfsubjectreviews"}:       {},
	{Group: "authorization.k8s.io", Resource: "subjectaccessreviews"}:      {},
	{Group: "authorization.k8s.io", Resource: "selfsubjectaccessreviews"}:  {},
	{Group: "authorization.k8s.io", Resource: "localsubjectaccessreviews"}: {},
	{Group: "authorization.k8s.io", Resource: "selfsubjectrulesreviews"}:   {},
	{Group: "coordination.k8s.io", Resource: "leases"}:                     {},
	{Group: "discovery.k8s.io", Resource: "endpointslices"}:                {},
	{Group: "", Resource: "endpoints"}:                                     {},
	{Group: "", Resource: "bindings"}:                                      {},
	{Group: "", Resource: "namespaces"}:                                    {},
	{Group: "", Resource: "nodes"}:                                         {},
	{Group: "", Resource: "componentstatuses"}:                             {},
	{Group: "", Resource: "serviceaccounts"}:                               {},
	{Group: "rbac.authorization.k8s.io", Resource: "roles"}:                {},
	{Group: "rbac.authorization.k8s.io", Resource: "rolebindings"}:         {},
	{Group: "rbac.authorization.k8s.io", Resource: "clusterroles"}:         {},
	{Group: "rbac.authorization.k8s.io", Resource: "clusterrolebindings"}:  {},
	{Group: "apiregistration.k8s.io", Resource: "apiservices"}:             {},
	{Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions"}: {},
}

// IgnoredResources returns the resources quota never tracks.
func IgnoredResources() map[schema.GroupResource]struct{} {
	out := make(map[schema.GroupResource]struct{}, len(ignoredResources))
	for k, v := range ignoredResources {
		out[k] = v
	}
	return out
}

// Evaluators returns the evaluators of the core resources. listers serves their UsageStats
// (the controller's informers); admission passes nil, as it only measures single objects.
func Evaluators(listers quotav1.ListerForResourceFunc, clk clock.PassiveClock) []quotav1.Evaluator {
	if clk == nil {
		clk = clock.RealClock{}
	}
	list := func(gvr schema.GroupVersionResource) generic.ListFuncByNamespace {
		if listers == nil {
			return func(string) ([]runtime.Object, error) {
				return nil, fmt.Errorf("quota: no lister for %s", gvr)
			}
		}
		return generic.ListResourceUsingListerFunc(listers, gvr)
	}
	out := []quotav1.Evaluator{
		&podEvaluator{list: list(podsResource), clock: clk},
		&serviceEvaluator{list: list(servicesResource)},
	}
	for gvr, alias := range countedResources {
		out = append(out, generic.NewObjectCountEvaluator(gvr.GroupResource(), list(gvr), alias))
	}
	return out
}

// Configuration is the quota configuration of admission and the controller.
func Configuration(listers quotav1.ListerForResourceFunc, clk clock.PassiveClock) quotav1.Configuration {
	return generic.NewConfiguration(Evaluators(listers, clk), IgnoredResources())
}

// podResources are what quota measures of a pod.
var podResources = []corev1.ResourceName{
	podCount, corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage,
	corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory, corev1.ResourceRequestsEphemeralStorage,
	corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory, corev1.ResourceLimitsEphemeralStorage,
	corev1.ResourcePods,
}

// constrained are the resources every container must state when a quota tracks them (the
// backward-compatible rule of the pod evaluator).
var constrained = sets.New[string](string(corev1.ResourceCPU), string(corev1.ResourceMemory),
	string(corev1.ResourceRequestsCPU), string(corev1.ResourceRequestsMemory),
	string(corev1.ResourceLimitsCPU), string(corev1.ResourceLimitsMemory))

type podEvaluator struct {
	list  generic.ListFuncByNamespace
	clock clock.PassiveClock
}

var _ quotav1.Evaluator = (*podEvaluator)(nil)

func asPod(obj runtime.Object) (*corev1.Pod, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, fmt.Errorf("expected *v1.Pod, got %T", obj)
	}
	return pod, nil
}

// Constraints requires every container to state each tracked cpu and memory resource.
func (p *podEvaluator) Constraints(required []corev1.ResourceName, item runtime.Object) error {
	pod, err := asPod(item)
	if err != nil {
		return err
	}
	if pod.Spec.Resources != nil && (len(pod.Spec.Resources.Requests) > 0 || len(pod.Spec.Resources.Limits) > 0) {
		return nil
	}
	req := sets.New[string]()
	for _, r := range required {
		if constrained.Has(string(r)) {
			req.Insert(string(r))
		}
	}
	missing := map[string]sets.Set[string]{}
	check := func(c *corev1.Container) {
		have := sets.New[string]()
		for r := range computeUsage(c.Resources.Requests, c.Resources.Limits) {
			have.Insert(string(r))
		}
		for _, r := range sets.List(req.Difference(have)) {
			if missing[r] == nil {
				missing[r] = sets.New[string]()
			}
			missing[r].Insert(c.Name)
		}
	}
	for i := range pod.Spec.Containers {
		check(&pod.Spec.Containers[i])
	}
	for i := range pod.Spec.InitContainers {
		check(&pod.Spec.InitContainers[i])
	}
	if len(missing) == 0 {
		return nil
	}
	var msgs []string
	for _, r := range sets.List(sets.KeySet(missing)) {
		msgs = append(msgs, fmt.Sprintf("%s for: %s", r, strings.Join(sets.List(missing[r]), ",")))
	}
	return fmt.Errorf("must specify %s", strings.Join(msgs, "; "))
}

func (p *podEvaluator) GroupResource() schema.GroupResource { return podsResource.GroupResource() }

// Handles pod creation, and updates that move a pod between Terminating and NotTerminating.
func (p *podEvaluator) Handles(a admission.Attributes) bool {
	if a.GetSubresource() != "" {
		return a.GetSubresource() == "resize" && a.GetOperation() == admission.Update
	}
	if a.GetOperation() == admission.Update {
		pod, err1 := asPod(a.GetObject())
		old, err2 := asPod(a.GetOldObject())
		return err1 == nil && err2 == nil && isTerminating(pod) != isTerminating(old)
	}
	return a.GetOperation() == admission.Create
}

func (p *podEvaluator) Matches(q *corev1.ResourceQuota, item runtime.Object) (bool, error) {
	return generic.Matches(q, item, p.MatchingResources, podMatchesScope)
}

func (p *podEvaluator) MatchingResources(input []corev1.ResourceName) []corev1.ResourceName {
	out := quotav1.Intersection(input, podResources)
	for _, r := range input {
		if strings.HasPrefix(string(r), corev1.ResourceHugePagesPrefix) || strings.HasPrefix(string(r), corev1.ResourceRequestsHugePagesPrefix) {
			out = append(out, r)
		}
		// Extended resources are quota'd only as requests.<name> (Kubernetes accepts no
		// other form for them).
		if ext, ok := strings.CutPrefix(string(r), corev1.DefaultResourceRequestsPrefix); ok && isExtendedResourceName(corev1.ResourceName(ext)) {
			out = append(out, r)
		}
	}
	return out
}

// isExtendedResourceName reports whether name is an extended resource (example.com/dongle):
// domain-qualified, outside the kubernetes.io domain, and not a quota name with the requests.
// prefix.
func isExtendedResourceName(name corev1.ResourceName) bool {
	s := string(name)
	if !strings.Contains(s, "/") || strings.Contains(s, corev1.ResourceDefaultNamespacePrefix) || strings.HasPrefix(s, corev1.DefaultResourceRequestsPrefix) {
		return false
	}
	return len(k8svalidation.IsQualifiedName(s)) == 0
}

func (p *podEvaluator) MatchingScopes(item runtime.Object, selectors []corev1.ScopedResourceSelectorRequirement) ([]corev1.ScopedResourceSelectorRequirement, error) {
	var out []corev1.ScopedResourceSelectorRequirement
	for _, s := range selectors {
		ok, err := podMatchesScope(s, item)
		if err != nil {
			return nil, fmt.Errorf("error on matching scope %v: %w", s, err)
		}
		if ok {
			out = append(out, s)
		}
	}
	return out, nil
}

func (p *podEvaluator) UncoveredQuotaScopes(limited, matched []corev1.ScopedResourceSelectorRequirement) ([]corev1.ScopedResourceSelectorRequirement, error) {
	var out []corev1.ScopedResourceSelectorRequirement
	for _, l := range limited {
		covered := false
		for _, m := range matched {
			if m.ScopeName == l.ScopeName {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, l)
		}
	}
	return out, nil
}

// Usage charges count/pods always, and pods plus compute requests and limits while the pod is
// not terminal (nor past its deletion grace period).
func (p *podEvaluator) Usage(item runtime.Object) (corev1.ResourceList, error) {
	pod, err := asPod(item)
	if err != nil {
		return corev1.ResourceList{}, err
	}
	out := corev1.ResourceList{podCount: *resource.NewQuantity(1, resource.DecimalSI)}
	if !charged(pod, p.clock) {
		return out, nil
	}
	opts := resourcehelper.PodResourcesOptions{}
	return quotav1.Add(out, computeUsage(resourcehelper.PodRequests(pod, opts), resourcehelper.PodLimits(pod, opts))), nil
}

func (p *podEvaluator) UsageStats(options quotav1.UsageStatsOptions) (quotav1.UsageStats, error) {
	return generic.CalculateUsageStats(options, p.list, podMatchesScope, p.Usage)
}

// charged: a pod counts against compute quota until it is terminal or past its deletion grace.
func charged(pod *corev1.Pod, clk clock.PassiveClock) bool {
	if pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded {
		return false
	}
	if pod.DeletionTimestamp != nil && pod.DeletionGracePeriodSeconds != nil {
		end := pod.DeletionTimestamp.Add(time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second)
		if clk.Now().After(end) {
			return false
		}
	}
	return true
}

// computeUsage maps requests and limits to quota resource names (cpu and requests.cpu are
// both the cpu request).
func computeUsage(requests, limits corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{corev1.ResourcePods: resource.MustParse("1")}
	for _, r := range []struct {
		name          corev1.ResourceName
		plain, prefix corev1.ResourceName
		limit         corev1.ResourceName
	}{
		{corev1.ResourceCPU, corev1.ResourceCPU, corev1.ResourceRequestsCPU, corev1.ResourceLimitsCPU},
		{corev1.ResourceMemory, corev1.ResourceMemory, corev1.ResourceRequestsMemory, corev1.ResourceLimitsMemory},
		{corev1.ResourceEphemeralStorage, corev1.ResourceEphemeralStorage, corev1.ResourceRequestsEphemeralStorage, corev1.ResourceLimitsEphemeralStorage},
	} {
		if q, ok := requests[r.name]; ok {
			out[r.plain] = q
			out[r.prefix] = q
		}
		if q, ok := limits[r.name]; ok {
			out[r.limit] = q
		}
	}
	for name, q := range requests {
		if strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix) {
			out[name] = q
			out[corev1.ResourceName(corev1.DefaultResourceRequestsPrefix+string(name))] = q
		}
		if isExtendedResourceName(name) {
			out[corev1.ResourceName(corev1.DefaultResourceRequestsPrefix+string(name))] = q
		}
	}
	return out
}

func isTerminating(pod *corev1.Pod) bool {
	return pod.Spec.ActiveDeadlineSeconds != nil && *pod.Spec.ActiveDeadlineSeconds >= 0
}

// podMatchesScope: Terminating (activeDeadlineSeconds set), BestEffort (QoS class), and
// PriorityClass (by the pod's priorityClassName).
func podMatchesScope(s corev1.ScopedResourceSelectorRequirement, obj runtime.Object) (bool, error) {
	pod, err := asPod(obj)
	if err != nil {
		return false, err
	}
	bestEffort := validation.QOSClass(&pod.Spec) == corev1.PodQOSBestEffort
	switch s.ScopeName {
	case corev1.ResourceQuotaScopeTerminating:
		return isTerminating(pod), nil
	case corev1.ResourceQuotaScopeNotTerminating:
		return !isTerminating(pod), nil
	case corev1.ResourceQuotaScopeBestEffort:
		return bestEffort, nil
	case corev1.ResourceQuotaScopeNotBestEffort:
		return !bestEffort, nil
	case corev1.ResourceQuotaScopePriorityClass:
		if s.Operator == corev1.ScopeSelectorOpExists {
			return pod.Spec.PriorityClassName != "", nil
		}
		sel, err := scopeSelector(s)
		if err != nil {
			return false, err
		}
		var set labels.Set
		if pod.Spec.PriorityClassName != "" {
			set = labels.Set{string(corev1.ResourceQuotaScopePriorityClass): pod.Spec.PriorityClassName}
		}
		return sel.Matches(set), nil
	case corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
		return crossNamespaceAffinity(pod), nil
	}
	return false, nil
}

// scopeSelector turns a scope requirement into a label selector on the scope name.
func scopeSelector(s corev1.ScopedResourceSelectorRequirement) (labels.Selector, error) {
	var op selection.Operator
	switch s.Operator {
	case corev1.ScopeSelectorOpIn:
		op = selection.In
	case corev1.ScopeSelectorOpNotIn:
		op = selection.NotIn
	case corev1.ScopeSelectorOpExists:
		op = selection.Exists
	case corev1.ScopeSelectorOpDoesNotExist:
		op = selection.DoesNotExist
	default:
		return nil, fmt.Errorf("%q is not a valid scope selector operator", s.Operator)
	}
	r, err := labels.NewRequirement(string(s.ScopeName), op, s.Values)
	if err != nil {
		return nil, err
	}
	return labels.NewSelector().Add(*r), nil
}

func crossNamespaceAffinity(pod *corev1.Pod) bool {
	a := pod.Spec.Affinity
	if a == nil {
		return false
	}
	cross := func(t corev1.PodAffinityTerm) bool { return len(t.Namespaces) != 0 || t.NamespaceSelector != nil }
	var terms []corev1.PodAffinityTerm
	if a.PodAffinity != nil {
		terms = append(terms, a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution...)
		for _, w := range a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			terms = append(terms, w.PodAffinityTerm)
		}
	}
	if a.PodAntiAffinity != nil {
		terms = append(terms, a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution...)
		for _, w := range a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			terms = append(terms, w.PodAffinityTerm)
		}
	}
	for _, t := range terms {
		if cross(t) {
			return true
		}
	}
	return false
}

type serviceEvaluator struct{ list generic.ListFuncByNamespace }

var _ quotav1.Evaluator = (*serviceEvaluator)(nil)

var serviceResources = []corev1.ResourceName{serviceCount, corev1.ResourceServices,
	corev1.ResourceServicesNodePorts, corev1.ResourceServicesLoadBalancers}

func (s *serviceEvaluator) Constraints([]corev1.ResourceName, runtime.Object) error { return nil }
func (s *serviceEvaluator) GroupResource() schema.GroupResource {
	return servicesResource.GroupResource()
}

// Handles service creation and updates that change the type (node ports, load balancers).
func (s *serviceEvaluator) Handles(a admission.Attributes) bool {
	if a.GetSubresource() != "" {
		return false
	}
	if a.GetOperation() == admission.Update {
		n, ok1 := a.GetObject().(*corev1.Service)
		o, ok2 := a.GetOldObject().(*corev1.Service)
		return ok1 && ok2 && n.Spec.Type != o.Spec.Type
	}
	return a.GetOperation() == admission.Create
}

func (s *serviceEvaluator) Matches(q *corev1.ResourceQuota, item runtime.Object) (bool, error) {
	return generic.Matches(q, item, s.MatchingResources, generic.MatchesNoScopeFunc)
}

func (s *serviceEvaluator) MatchingResources(input []corev1.ResourceName) []corev1.ResourceName {
	return quotav1.Intersection(input, serviceResources)
}

func (s *serviceEvaluator) MatchingScopes(runtime.Object, []corev1.ScopedResourceSelectorRequirement) ([]corev1.ScopedResourceSelectorRequirement, error) {
	return nil, nil
}

func (s *serviceEvaluator) UncoveredQuotaScopes([]corev1.ScopedResourceSelectorRequirement, []corev1.ScopedResourceSelectorRequirement) ([]corev1.ScopedResourceSelectorRequirement, error) {
	return nil, nil
}

// Usage counts the service, its node ports (NodePort and LoadBalancer services) and load
// balancers.
func (s *serviceEvaluator) Usage(item runtime.Object) (corev1.ResourceList, error) {
	svc, ok := item.(*corev1.Service)
	if !ok {
		return corev1.ResourceList{}, fmt.Errorf("expected *v1.Service, got %T", item)
	}
	one := *resource.NewQuantity(1, resource.DecimalSI)
	out := corev1.ResourceList{
		serviceCount: one, corev1.ResourceServices: one,
		corev1.ResourceServicesLoadBalancers: {Format: resource.DecimalSI},
		corev1.ResourceServicesNodePorts:     {Format: resource.DecimalSI},
	}
	ports := int64(len(svc.Spec.Ports))
	switch svc.Spec.Type {
	case corev1.ServiceTypeNodePort:
		out[corev1.ResourceServicesNodePorts] = *resource.NewQuantity(ports, resource.DecimalSI)
	case corev1.ServiceTypeLoadBalancer:
		if a := svc.Spec.AllocateLoadBalancerNodePorts; a != nil && !*a {
			n := int64(0)
			for _, p := range svc.Spec.Ports {
				if p.NodePort != 0 {
					n++
				}
			}
			ports = n
		}
		out[corev1.ResourceServicesNodePorts] = *resource.NewQuantity(ports, resource.DecimalSI)
		out[corev1.ResourceServicesLoadBalancers] = one
	}
	return out, nil
}

func (s *serviceEvaluator) UsageStats(options quotav1.UsageStatsOptions) (quotav1.UsageStats, error) {
	return generic.CalculateUsageStats(options, s.list, generic.MatchesNoScopeFunc, s.Usage)
}
