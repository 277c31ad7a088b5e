package endpointslicemirroring

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/utils/ptr"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/controllers/runner"
)

// Name of the controller in a manager (kube-controller-manager's name).
const Name = "endpointslicemirroring"

// ManagedBy is the endpointslice.kubernetes.io/managed-by value of mirrored slices.
const ManagedBy = "endpointslicemirroring-controller.k8s.io"

// MaxEndpointsPerSubset is the most addresses of one Endpoints subset that are mirrored, and
// the most endpoints of a mirrored slice (kube-controller-manager's default).
const MaxEndpointsPerSubset = 1000

// New returns the factory of the mirroring controller.
func New() runner.Factory {
	return func(c runner.Context) (interfaces.Controller, error) {
		epInf := c.Informers.Core().V1().Endpoints()
		svcInf := c.Informers.Core().V1().Services()
		sliceInf := c.Informers.Discovery().V1().EndpointSlices()
		m := &controller{client: c.Client, endpoints: epInf.Lister(), services: svcInf.Lister(), slices: sliceInf.Lister()}
		if _, err := epInf.Informer().AddEventHandler(runner.EnqueueSelf(c.Queue)); err != nil {
			return nil, err
		}
		if _, err := svcInf.Informer().AddEventHandler(runner.EnqueueSelf(c.Queue)); err != nil {
			return nil, err
		}
		sliceChanged := func(obj any) {
			if s, ok := runner.Unwrap(obj).(*discoveryv1.EndpointSlice); ok && s.Labels[discoveryv1.LabelManagedBy] == ManagedBy {
				if svc := s.Labels[discoveryv1.LabelServiceName]; svc != "" {
					c.Queue.Add(s.Namespace + "/" + svc)
				}
			}
		}
		if _, err := sliceInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    sliceChanged,
			UpdateFunc: func(o, n any) { sliceChanged(o); sliceChanged(n) },
			DeleteFunc: sliceChanged,
		}); err != nil {
			return nil, err
		}
		return m, nil
	}
}

type controller struct {
	client    kubernetes.Interface
	endpoints corelisters.EndpointsLister
	services  corelisters.ServiceLister
	slices    discoverylisters.EndpointSliceLister
}

func (m *controller) Name() string { return Name }

// Reconcile mirrors the Endpoints of key (namespace/name of an Endpoints and its Service).
func (m *controller) Reconcile(ctx context.Context, key string) (interfaces.ReconcileResult, error) {
	ns, name := runner.SplitKey(key)
	existing, err := m.slices.EndpointSlices(ns).List(labels.SelectorFromSet(map[string]string{
		discoveryv1.LabelServiceName: name, discoveryv1.LabelManagedBy: ManagedBy,
	}))
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	ep, err := m.endpoints.Endpoints(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return interfaces.ReconcileResult{}, m.deleteAll(ctx, existing)
	}
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	if !ShouldMirror(ep) {
		return interfaces.ReconcileResult{}, m.deleteAll(ctx, existing)
	}
	svc, err := m.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return interfaces.ReconcileResult{}, m.deleteAll(ctx, existing)
	}
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	if svc.Spec.Selector != nil {
		return interfaces.ReconcileResult{}, m.deleteAll(ctx, existing)
	}
	desired := Desired(ep)
	sort.Slice(existing, func(i, j int) bool { return existing[i].Name < existing[j].Name })
	used := map[string]bool{}
	var errs []error
	for _, want := range desired {
		var match *discoveryv1.EndpointSlice
		for _, exact := range []bool{true, false} {
			for _, have := range existing {
				if !used[have.Name] && have.AddressType == want.AddressType &&
					(!exact || equality.Semantic.DeepEqual(have.Ports, want.Ports)) {
					match = have
					break
				}
			}
			if match != nil {
				break
			}
		}
		if match == nil {
			if _, err := m.client.DiscoveryV1().EndpointSlices(ns).Create(ctx, want, metav1.CreateOptions{}); err != nil &&
				!apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				errs = append(errs, fmt.Errorf("creating a mirrored EndpointSlice of %s: %w", key, err))
			}
			continue
		}
		used[match.Name] = true
		if equality.Semantic.DeepEqual(match.Ports, want.Ports) && equality.Semantic.DeepEqual(match.Endpoints, want.Endpoints) &&
			equality.Semantic.DeepEqual(match.Labels, want.Labels) && equality.Semantic.DeepEqual(nonNil(match.Annotations), want.Annotations) &&
			equality.Semantic.DeepEqual(match.OwnerReferences, want.OwnerReferences) {
			continue
		}
		cp := match.DeepCopy()
		cp.Ports, cp.Endpoints, cp.Labels, cp.Annotations, cp.OwnerReferences = want.Ports, want.Endpoints, want.Labels, want.Annotations, want.OwnerReferences
		if _, err := m.client.DiscoveryV1().EndpointSlices(ns).Update(ctx, cp, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("updating mirrored EndpointSlice %s/%s: %w", ns, match.Name, err))
		}
	}
	var stale []*discoveryv1.EndpointSlice
	for _, have := range existing {
		if !used[have.Name] {
			stale = append(stale, have)
		}
	}
	errs = append(errs, m.deleteAll(ctx, stale))
	return interfaces.ReconcileResult{}, errors.Join(errs...)
}

func (m *controller) deleteAll(ctx context.Context, slices []*discoveryv1.EndpointSlice) error {
	var errs []error
	for _, s := range slices {
		if err := m.client.DiscoveryV1().EndpointSlices(s.Namespace).Delete(ctx, s.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting mirrored EndpointSlice %s/%s: %w", s.Namespace, s.Name, err))
		}
	}
	return errors.Join(errs...)
}

// ShouldMirror reports whether ep may be mirrored: not labelled skip-mirror, not a
// leader-election record.
func ShouldMirror(ep *corev1.Endpoints) bool {
	if ep.Labels[discoveryv1.LabelSkipMirror] == "true" {
		return false
	}
	_, le := ep.Annotations[resourcelock.LeaderElectionRecordAnnotationKey]
	return !le
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// Desired returns the slices that mirror ep (names unset, generateName set).
func Desired(ep *corev1.Endpoints) []*discoveryv1.EndpointSlice {
	type group struct {
		addressType discoveryv1.AddressType
		ports       []discoveryv1.EndpointPort
		endpoints   []discoveryv1.Endpoint
		seen        map[string]bool
	}
	groups := map[string]*group{}
	for _, sub := range ep.Subsets {
		ports := []discoveryv1.EndpointPort{}
		for _, p := range sub.Ports {
			ports = append(ports, discoveryv1.EndpointPort{Name: ptr.To(p.Name), Port: ptr.To(p.Port), Protocol: ptr.To(p.Protocol), AppProtocol: p.AppProtocol})
		}
		sort.Slice(ports, func(i, j int) bool { return portKey(ports[i]) < portKey(ports[j]) })
		added := 0
		add := func(a corev1.EndpointAddress, ready bool) {
			if added >= MaxEndpointsPerSubset {
				return
			}
			ip, err := netip.ParseAddr(a.IP)
			if err != nil {
				return
			}
			ip = ip.Unmap()
			at := discoveryv1.AddressTypeIPv4
			if ip.Is6() {
				at = discoveryv1.AddressTypeIPv6
			}
			var b strings.Builder
			b.WriteString(string(at) + "|")
			for _, p := range ports {
				b.WriteString(portKey(p) + ",")
			}
			k := b.String()
			g := groups[k]
			if g == nil {
				g = &group{addressType: at, ports: ports, seen: map[string]bool{}}
				groups[k] = g
			}
			added++
			if g.seen[ip.String()] {
				return
			}
			g.seen[ip.String()] = true
			e := discoveryv1.Endpoint{Addresses: []string{ip.String()}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(ready)}}
			if a.TargetRef != nil {
				e.TargetRef = a.TargetRef.DeepCopy()
			}
			if a.NodeName != nil {
				e.NodeName = ptr.To(*a.NodeName)
			}
			if a.Hostname != "" {
				e.Hostname = ptr.To(a.Hostname)
			}
			g.endpoints = append(g.endpoints, e)
		}
		for _, a := range sub.Addresses {
			add(a, true)
		}
		for _, a := range sub.NotReadyAddresses {
			add(a, false)
		}
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	t := true
	owner := metav1.OwnerReference{APIVersion: "v1", Kind: "Endpoints", Name: ep.Name, UID: ep.UID, Controller: &t, BlockOwnerDeletion: &t}
	lbls := map[string]string{}
	for k, v := range ep.Labels {
		lbls[k] = v
	}
	lbls[discoveryv1.LabelServiceName] = ep.Name
	lbls[discoveryv1.LabelManagedBy] = ManagedBy
	ann := map[string]string{}
	for k, v := range ep.Annotations {
		if k != corev1.EndpointsLastChangeTriggerTime && k != corev1.LastAppliedConfigAnnotation {
			ann[k] = v
		}
	}
	var out []*discoveryv1.EndpointSlice
	for _, k := range keys {
		g := groups[k]
		sort.Slice(g.endpoints, func(i, j int) bool { return g.endpoints[i].Addresses[0] < g.endpoints[j].Addresses[0] })
		for start := 0; start < len(g.endpoints); start += MaxEndpointsPerSubset {
			end := min(start+MaxEndpointsPerSubset, len(g.endpoints))
			out = append(out, &discoveryv1.EndpointSlice{
				ObjectMeta: metav1.ObjectMeta{
					GenerateName: ep.Name + "-", Namespace: ep.Namespace,
					Labels: clone(lbls), Annotations: clone(ann),
					OwnerReferences: []metav1.OwnerReference{owner},
				},
				AddressType: g.addressType,
				Ports:       g.ports,
				Endpoints:   append([]discoveryv1.Endpoint{}, g.endpoints[start:end]...),
			})
		}
	}
	return out
}

func portKey(p discoveryv1.EndpointPort) string {
	return fmt.Sprintf("%s/%d/%s", ptr.Deref(p.Name, ""), ptr.Deref(p.Port, 0), ptr.Deref(p.Protocol, ""))
}

func clone(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
