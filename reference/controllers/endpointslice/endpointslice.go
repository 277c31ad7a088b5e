package endpointslice

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/controllers/podstate"
	"github.com/clusterkit/clusterkit/reference/controllers/runner"
)

// Name of the controller in a manager.
const Name = "endpointslice"

// ManagedBy is the value of the endpointslice.kubernetes.io/managed-by label
// on the slices this controller manages (Kubernetes' own value).
const ManagedBy = "endpointslice-controller.k8s.io"

// MaxEndpointsPerSlice is the largest slice it writes (Kubernetes' default).
const MaxEndpointsPerSlice = 100

var serviceKind = corev1.SchemeGroupVersion.WithKind("Service")

// New returns the factory of the EndpointSlice controller.
func New() runner.Factory {
	return func(c runner.Context) (interfaces.Controller, error) {
		svcInf := c.Informers.Core().V1().Services()
		podInf := c.Informers.Core().V1().Pods()
		sliceInf := c.Informers.Discovery().V1().EndpointSlices()
		e := &controller{client: c.Client, ctx: c, services: svcInf.Lister(), pods: podInf.Lister(), slices: sliceInf.Lister(),
			nodes: c.Informers.Core().V1().Nodes().Lister(), tracker: newTracker(c.Clock.Now)}
		if _, err := svcInf.Informer().AddEventHandler(runner.EnqueueSelf(c.Queue)); err != nil {
			return nil, err
		}
		if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: e.podChanged,
			UpdateFunc: func(o, n any) {
				e.podChanged(o)
				e.podChanged(n)
			},
			DeleteFunc: e.podChanged,
		}); err != nil {
			return nil, err
		}
		sliceChanged := func(obj any, deleted bool) {
			if s, ok := runner.Unwrap(obj).(*discoveryv1.EndpointSlice); ok && s.Labels[discoveryv1.LabelManagedBy] == ManagedBy {
				if svc := s.Labels[discoveryv1.LabelServiceName]; svc != "" {
					key := s.Namespace + "/" + svc
					if deleted {
						e.tracker.gone(key, s.UID)
					}
					c.Queue.Add(key)
				}
			}
		}
		if _, err := sliceInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(o any) { sliceChanged(o, false) },
			UpdateFunc: func(_, n any) { sliceChanged(n, false) },
			DeleteFunc: func(o any) { sliceChanged(o, true) },
		}); err != nil {
			return nil, err
		}
		return e, nil
	}
}

type controller struct {
	client   kubernetes.Interface
	ctx      runner.Context
	services corelisters.ServiceLister
	pods     corelisters.PodLister
	slices   discoverylisters.EndpointSliceLister
	nodes    corelisters.NodeLister
	tracker  *tracker
}

func (e *controller) Name() string { return Name }

func (e *controller) podChanged(obj any) {
	p, ok := runner.Unwrap(obj).(*corev1.Pod)
	if !ok {
		return
	}
	svcs, err := e.services.Services(p.Namespace).List(labels.Everything())
	if err != nil {
		return
	}
	for _, s := range svcs {
		if s.Spec.Selector != nil && labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(p.Labels)) {
			e.ctx.Queue.Add(p.Namespace + "/" + s.Name)
		}
	}
}

// Reconcile syncs the slices of one Service.
func (e *controller) Reconcile(ctx context.Context, key string) (interfaces.ReconcileResult, error) {
	ns, name := runner.SplitKey(key)
	svc, err := e.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		// The garbage collector deletes the slices the Service owned.
		e.tracker.forget(key)
		return interfaces.ReconcileResult{}, nil
	}
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	if svc.Spec.Selector == nil || svc.DeletionTimestamp != nil {
		return interfaces.ReconcileResult{}, nil
	}
	pods, err := e.pods.Pods(ns).List(labels.SelectorFromSet(svc.Spec.Selector))
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	pods, missing := e.withKnownNodes(svc, pods)
	desired := Desired(svc, pods)
	existing, err := e.slices.EndpointSlices(ns).List(labels.SelectorFromSet(map[string]string{
		discoveryv1.LabelServiceName: svc.Name, discoveryv1.LabelManagedBy: ManagedBy,
	}))
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	if e.tracker.stale(key, existing) {
		// The informer has not yet seen this controller's last writes; their
		// events enqueue the Service again (the requeue is a safety net).
		return interfaces.ReconcileResult{RequeueAfter: time.Second}, nil
	}
	sort.Slice(existing, func(i, j int) bool { return existing[i].Name < existing[j].Name })
	// Pair each desired slice with an existing one: first the slices that
	// already carry the same ports (kept as they are when their endpoints
	// agree), then any other slice of the address type, rewritten rather
	// than deleted and created (Kubernetes turns deletes into updates the
	// same way).
	used := map[string]bool{}
	matches := make([]*discoveryv1.EndpointSlice, len(desired))
	for _, samePorts := range []bool{true, false} {
		for i, want := range desired {
			if matches[i] != nil {
				continue
			}
			for _, have := range existing {
				if !used[have.Name] && have.AddressType == want.AddressType &&
					(!samePorts || equality.Semantic.DeepEqual(have.Ports, want.Ports)) {
					matches[i] = have
					used[have.Name] = true
					break
				}
			}
		}
	}
	var errs []error
	for i, want := range desired {
		match := matches[i]
		if match == nil {
			want.GenerateName = svc.Name + "-"
			created, err := e.client.DiscoveryV1().EndpointSlices(ns).Create(ctx, want, metav1.CreateOptions{})
			if err != nil {
				errs = append(errs, fmt.Errorf("creating an EndpointSlice of %s: %w", key, err))
				continue
			}
			e.tracker.wrote(key, created)
			continue
		}
		if equality.Semantic.DeepEqual(match.Ports, want.Ports) && equality.Semantic.DeepEqual(match.Endpoints, want.Endpoints) &&
			equality.Semantic.DeepEqual(match.Labels, want.Labels) {
			continue
		}
		cp := match.DeepCopy()
		cp.Ports, cp.Endpoints, cp.Labels, cp.OwnerReferences = want.Ports, want.Endpoints, want.Labels, want.OwnerReferences
		updated, err := e.client.DiscoveryV1().EndpointSlices(ns).Update(ctx, cp, metav1.UpdateOptions{})
		switch {
		case err == nil:
			e.tracker.wrote(key, updated)
		case !apierrors.IsNotFound(err):
			errs = append(errs, fmt.Errorf("updating EndpointSlice %s: %w", match.Name, err))
		}
	}
	for _, have := range existing {
		if used[have.Name] {
			continue
		}
		err := e.client.DiscoveryV1().EndpointSlices(ns).Delete(ctx, have.Name, metav1.DeleteOptions{
			Preconditions: &metav1.Preconditions{UID: &have.UID}})
		switch {
		case err == nil:
			e.tracker.deleted(key, have)
		case !apierrors.IsNotFound(err) && !apierrors.IsConflict(err):
			errs = append(errs, fmt.Errorf("deleting EndpointSlice %s: %w", have.Name, err))
		}
	}
	if len(missing) > 0 {
		// Retried with backoff, as Kubernetes does, until the Node appears or the pod goes.
		errs = append(errs, fmt.Errorf("left out of the EndpointSlices of %s: pods %v, whose Nodes are not found", key, missing))
	}
	return interfaces.ReconcileResult{}, errors.Join(errs...)
}

// withKnownNodes leaves out the pods bound to a Node that does not exist (their names are
// returned in missing), unless the Service publishes not-ready addresses: Kubernetes'
// EndpointSlice controller does the same (k8s.io/endpointslice reconciler, "skipping Pod for
// Service, Node not found"), so that a pod the pod GC has yet to remove is not served.
func (e *controller) withKnownNodes(svc *corev1.Service, pods []*corev1.Pod) (kept []*corev1.Pod, missing []string) {
	if svc.Spec.PublishNotReadyAddresses {
		return pods, nil
	}
	for _, p := range pods {
		if p.Spec.NodeName != "" && p.Status.PodIP != "" {
			if _, err := e.nodes.Get(p.Spec.NodeName); apierrors.IsNotFound(err) {
				missing = append(missing, p.Name)
				continue
			}
		}
		kept = append(kept, p)
	}
	return kept, missing
}

// Desired returns the slices svc should have for pods (names unset). A
// Service without endpoints still gets one empty slice, as in Kubernetes.
func Desired(svc *corev1.Service, pods []*corev1.Pod) []*discoveryv1.EndpointSlice {
	type group struct {
		addressType discoveryv1.AddressType
		ports       []discoveryv1.EndpointPort
		endpoints   []discoveryv1.Endpoint
	}
	groups := map[string]*group{}
	sorted := append([]*corev1.Pod(nil), pods...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for _, p := range sorted {
		if p.Status.PodIP == "" || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		ports := resolvePorts(svc, p)
		at := discoveryv1.AddressTypeIPv4
		if strings.Contains(p.Status.PodIP, ":") {
			at = discoveryv1.AddressTypeIPv6
		}
		k := string(at) + "|" + portsKey(ports)
		g := groups[k]
		if g == nil {
			g = &group{addressType: at, ports: ports}
			groups[k] = g
		}
		ready := podstate.Ready(p)
		terminating := p.DeletionTimestamp != nil
		ep := discoveryv1.Endpoint{
			Addresses: []string{p.Status.PodIP},
			Conditions: discoveryv1.EndpointConditions{
				Ready: ptr.To(ready && !terminating), Serving: ptr.To(ready), Terminating: ptr.To(terminating),
			},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID},
		}
		if p.Spec.NodeName != "" {
			ep.NodeName = ptr.To(p.Spec.NodeName)
		}
		if p.Spec.Hostname != "" && p.Spec.Subdomain == svc.Name {
			// A pod names itself under a headless Service by hostname and subdomain: cluster
			// DNS serves hostname.subdomain.ns.svc.<domain> from this field.
			ep.Hostname = ptr.To(p.Spec.Hostname)
		}
		g.endpoints = append(g.endpoints, ep)
	}
	if len(groups) == 0 {
		groups[""] = &group{addressType: discoveryv1.AddressTypeIPv4, ports: resolvePorts(svc, nil)}
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	t := true
	owner := metav1.OwnerReference{APIVersion: serviceKind.GroupVersion().String(), Kind: serviceKind.Kind,
		Name: svc.Name, UID: svc.UID, Controller: &t, BlockOwnerDeletion: &t}
	var out []*discoveryv1.EndpointSlice
	for _, k := range keys {
		g := groups[k]
		for start := 0; start == 0 || start < len(g.endpoints); start += MaxEndpointsPerSlice {
			end := min(start+MaxEndpointsPerSlice, len(g.endpoints))
			s := &discoveryv1.EndpointSlice{
				ObjectMeta: metav1.ObjectMeta{
					Namespace: svc.Namespace,
					Labels: map[string]string{
						discoveryv1.LabelServiceName: svc.Name, discoveryv1.LabelManagedBy: ManagedBy,
					},
					OwnerReferences: []metav1.OwnerReference{owner},
				},
				AddressType: g.addressType,
				Ports:       g.ports,
				Endpoints:   append([]discoveryv1.Endpoint{}, g.endpoints[start:end]...),
			}
			out = append(out, s)
			if end == len(g.endpoints) {
				break
			}
		}
	}
	return out
}

// resolvePorts maps the Service's ports to pod p's ports; a named target
// port p does not declare is left out. With p nil, numeric ports only.
func resolvePorts(svc *corev1.Service, p *corev1.Pod) []discoveryv1.EndpointPort {
	out := []discoveryv1.EndpointPort{}
	for _, sp := range svc.Spec.Ports {
		var port int32
		switch {
		case sp.TargetPort.Type == intstr.String && sp.TargetPort.StrVal != "":
			if p == nil {
				continue
			}
			port = namedPort(p, sp.TargetPort.StrVal, sp.Protocol)
			if port == 0 {
				continue
			}
		case sp.TargetPort.Type == intstr.Int && sp.TargetPort.IntVal != 0:
			port = sp.TargetPort.IntVal
		default:
			port = sp.Port
		}
		proto := sp.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		ep := discoveryv1.EndpointPort{Name: ptr.To(sp.Name), Port: ptr.To(port), Protocol: ptr.To(proto)}
		if sp.AppProtocol != nil {
			ep.AppProtocol = ptr.To(*sp.AppProtocol)
		}
		out = append(out, ep)
	}
	return out
}

func namedPort(p *corev1.Pod, name string, proto corev1.Protocol) int32 {
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	for _, c := range p.Spec.Containers {
		for _, cp := range c.Ports {
			cproto := cp.Protocol
			if cproto == "" {
				cproto = corev1.ProtocolTCP
			}
			if cp.Name == name && cproto == proto {
				return cp.ContainerPort
			}
		}
	}
	return 0
}

func portsKey(ports []discoveryv1.EndpointPort) string {
	var b strings.Builder
	for _, p := range ports {
		fmt.Fprintf(&b, "%s/%d/%s,", ptr.Deref(p.Name, ""), ptr.Deref(p.Port, 0), ptr.Deref(p.Protocol, ""))
	}
	return b.String()
}
