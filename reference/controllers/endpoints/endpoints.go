package endpoints

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	endpointsliceutil "k8s.io/endpointslice/util"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/controllers/runner"
)

// Name of the controller in a manager (kube-controller-manager's name).
const Name = "endpoint"

// MaxCapacity is the most addresses one Endpoints object holds (Kubernetes' limit).
const MaxCapacity = 1000

// Truncated is the value of the over-capacity annotation on truncated Endpoints.
const Truncated = "truncated"

// New returns the factory of the Endpoints controller.
func New() runner.Factory {
	return func(c runner.Context) (interfaces.Controller, error) {
		svcInf := c.Informers.Core().V1().Services()
		podInf := c.Informers.Core().V1().Pods()
		epInf := c.Informers.Core().V1().Endpoints()
		e := &controller{
			client: c.Client, queue: c.Queue,
			services: svcInf.Lister(), pods: podInf.Lister(), endpoints: epInf.Lister(),
			triggers: newTriggerTracker(),
		}
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
		// Like upstream, a deleted Endpoints object of a selector Service is made again; other
		// Endpoints changes are the Service's business (a custom Endpoints without a Service is
		// left alone).
		if _, err := epInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			DeleteFunc: func(obj any) {
				if k, ok := runner.Key(obj); ok {
					c.Queue.Add(k)
				}
			},
		}); err != nil {
			return nil, err
		}
		return e, nil
	}
}

type controller struct {
	client    kubernetes.Interface
	queue     interfaces.KeyQueue
	services  corelisters.ServiceLister
	pods      corelisters.PodLister
	endpoints corelisters.EndpointsLister
	triggers  *triggerTracker
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
			e.queue.Add(p.Namespace + "/" + s.Name)
		}
	}
}

// Reconcile syncs the Endpoints of one Service.
func (e *controller) Reconcile(ctx context.Context, key string) (interfaces.ReconcileResult, error) {
	ns, name := runner.SplitKey(key)
	svc, err := e.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		e.triggers.forget(key)
		if err := e.client.CoreV1().Endpoints(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return interfaces.ReconcileResult{}, fmt.Errorf("deleting the Endpoints of deleted Service %s: %w", key, err)
		}
		return interfaces.ReconcileResult{}, nil
	}
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName || svc.Spec.Selector == nil {
		return interfaces.ReconcileResult{}, nil
	}
	pods, err := e.pods.Pods(ns).List(labels.SelectorFromSet(svc.Spec.Selector))
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	trigger := e.triggers.compute(key, svc, pods)
	subsets := Subsets(svc, pods)

	cur, err := e.endpoints.Endpoints(ns).Get(name)
	create := false
	switch {
	case apierrors.IsNotFound(err):
		create = true
		cur = &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	case err != nil:
		return interfaces.ReconcileResult{}, err
	}
	if !create && subsetsEqual(cur.Subsets, subsets) && equality.Semantic.DeepEqual(withoutKey(cur.Labels, corev1.IsHeadlessService), nonNil(svc.Labels)) &&
		capacityAnnotationCorrect(cur.Annotations, cur.Subsets) && headlessLabelCorrect(cur.Labels, svc) {
		return interfaces.ReconcileResult{}, nil
	}
	want := cur.DeepCopy()
	want.Subsets = subsets
	want.Labels = Labels(svc)
	if want.Annotations == nil {
		want.Annotations = map[string]string{}
	}
	if !trigger.IsZero() {
		want.Annotations[corev1.EndpointsLastChangeTriggerTime] = trigger.UTC().Format(time.RFC3339Nano)
	} else {
		delete(want.Annotations, corev1.EndpointsLastChangeTriggerTime)
	}
	if Truncate(want) {
		want.Annotations[corev1.EndpointsOverCapacity] = Truncated
	} else {
		delete(want.Annotations, corev1.EndpointsOverCapacity)
	}
	if create {
		_, err = e.client.CoreV1().Endpoints(ns).Create(ctx, want, metav1.CreateOptions{})
		if err != nil && apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return interfaces.ReconcileResult{}, nil
		}
		if err != nil {
			return interfaces.ReconcileResult{}, fmt.Errorf("creating the Endpoints of %s: %w", key, err)
		}
		return interfaces.ReconcileResult{}, nil
	}
	if _, err := e.client.CoreV1().Endpoints(ns).Update(ctx, want, metav1.UpdateOptions{}); err != nil {
		return interfaces.ReconcileResult{}, fmt.Errorf("updating the Endpoints of %s: %w", key, err)
	}
	return interfaces.ReconcileResult{}, nil
}

// Labels returns the labels of svc's Endpoints: the Service's, plus
// service.kubernetes.io/headless on a headless Service.
func Labels(svc *corev1.Service) map[string]string {
	out := map[string]string{}
	for k, v := range svc.Labels {
		out[k] = v
	}
	if !serviceIPSet(svc) {
		out[corev1.IsHeadlessService] = ""
	} else {
		delete(out, corev1.IsHeadlessService)
	}
	return out
}

func serviceIPSet(svc *corev1.Service) bool {
	return svc.Spec.ClusterIP != corev1.ClusterIPNone && svc.Spec.ClusterIP != ""
}

func headlessLabelCorrect(l map[string]string, svc *corev1.Service) bool {
	_, has := l[corev1.IsHeadlessService]
	return has == !serviceIPSet(svc)
}

func withoutKey(m map[string]string, key string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if k != key {
			out[k] = v
		}
	}
	return out
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// Subsets returns the subsets svc's Endpoints must hold for pods (the pods its selector
// matches), grouped by port set and sorted.
func Subsets(svc *corev1.Service, pods []*corev1.Pod) []corev1.EndpointSubset {
	type member struct {
		addr  corev1.EndpointAddress
		ready bool
		ports []corev1.EndpointPort
	}
	var members []member
	for _, p := range pods {
		if !endpointsliceutil.ShouldPodBeInEndpoints(p, svc.Spec.PublishNotReadyAddresses) {
			continue
		}
		ip, ok := podIP(svc, p)
		if !ok {
			continue
		}
		addr := corev1.EndpointAddress{
			IP:        ip,
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID},
		}
		if p.Spec.NodeName != "" {
			node := p.Spec.NodeName
			addr.NodeName = &node
		}
		if endpointsliceutil.ShouldSetHostname(p, svc) {
			addr.Hostname = p.Spec.Hostname
		}
		m := member{addr: addr, ready: svc.Spec.PublishNotReadyAddresses || endpointsliceutil.IsPodReady(p)}
		if len(svc.Spec.Ports) == 0 {
			// Only a headless Service may have no ports; its addresses form a portless subset.
			if svc.Spec.ClusterIP != corev1.ClusterIPNone {
				continue
			}
		} else {
			for i := range svc.Spec.Ports {
				sp := &svc.Spec.Ports[i]
				port, ok := FindPort(p, sp)
				if !ok {
					continue
				}
				m.ports = append(m.ports, corev1.EndpointPort{Name: sp.Name, Port: port, Protocol: sp.Protocol, AppProtocol: sp.AppProtocol})
			}
			if len(m.ports) == 0 {
				continue
			}
		}
		sortPorts(m.ports)
		members = append(members, m)
	}
	groups := map[string]*corev1.EndpointSubset{}
	for _, m := range members {
		k := portsKey(m.ports)
		g := groups[k]
		if g == nil {
			g = &corev1.EndpointSubset{Ports: m.ports}
			groups[k] = g
		}
		if m.ready {
			g.Addresses = append(g.Addresses, m.addr)
		} else {
			g.NotReadyAddresses = append(g.NotReadyAddresses, m.addr)
		}
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := []corev1.EndpointSubset{}
	for _, k := range keys {
		g := groups[k]
		sortAddresses(g.Addresses)
		sortAddresses(g.NotReadyAddresses)
		out = append(out, *g)
	}
	return out
}

// podIP returns p's IP of svc's primary IP family.
func podIP(svc *corev1.Service, p *corev1.Pod) (string, bool) {
	family := corev1.IPv4Protocol
	switch {
	case len(svc.Spec.IPFamilies) > 0:
		family = svc.Spec.IPFamilies[0]
	case svc.Spec.ClusterIP != "" && svc.Spec.ClusterIP != corev1.ClusterIPNone:
		if a, err := netip.ParseAddr(svc.Spec.ClusterIP); err == nil && a.Is6() {
			family = corev1.IPv6Protocol
		}
	default:
		if a, err := netip.ParseAddr(p.Status.PodIP); err == nil && a.Is6() {
			family = corev1.IPv6Protocol
		}
	}
	ips := []string{p.Status.PodIP}
	for _, x := range p.Status.PodIPs {
		ips = append(ips, x.IP)
	}
	for _, s := range ips {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			continue
		}
		a = a.Unmap()
		if a.Is6() == (family == corev1.IPv6Protocol) {
			return a.String(), true
		}
	}
	return "", false
}

// FindPort resolves the target port of sp against pod p: a number is itself, a name is the
// container port of that name and protocol.
func FindPort(p *corev1.Pod, sp *corev1.ServicePort) (int32, bool) {
	switch {
	case sp.TargetPort.Type == intstr.String:
		proto := sp.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		for _, c := range p.Spec.Containers {
			for _, cp := range c.Ports {
				cproto := cp.Protocol
				if cproto == "" {
					cproto = corev1.ProtocolTCP
				}
				if cp.Name == sp.TargetPort.StrVal && cproto == proto {
					return cp.ContainerPort, true
				}
			}
		}
		return 0, false
	case sp.TargetPort.IntVal != 0:
		return sp.TargetPort.IntVal, true
	default:
		return sp.Port, true
	}
}

func portsKey(ports []corev1.EndpointPort) string {
	var b strings.Builder
	for _, p := range ports {
		fmt.Fprintf(&b, "%s/%d/%s,", p.Name, p.Port, p.Protocol)
	}
	return b.String()
}

func sortPorts(ports []corev1.EndpointPort) {
	sort.Slice(ports, func(i, j int) bool {
		if ports[i].Name != ports[j].Name {
			return ports[i].Name < ports[j].Name
		}
		if ports[i].Port != ports[j].Port {
			return ports[i].Port < ports[j].Port
		}
		return ports[i].Protocol < ports[j].Protocol
	})
}

func sortAddresses(a []corev1.EndpointAddress) {
	sort.Slice(a, func(i, j int) bool {
		if a[i].IP != a[j].IP {
			return a[i].IP < a[j].IP
		}
		var ui, uj string
		if a[i].TargetRef != nil {
			ui = string(a[i].TargetRef.UID)
		}
		if a[j].TargetRef != nil {
			uj = string(a[j].TargetRef.UID)
		}
		return ui < uj
	})
}

// subsetsEqual compares subsets ignoring the target references' resourceVersion.
func subsetsEqual(a, b []corev1.EndpointSubset) bool {
	strip := func(in []corev1.EndpointSubset) []corev1.EndpointSubset {
		out := make([]corev1.EndpointSubset, 0, len(in))
		for _, s := range in {
			s = *s.DeepCopy()
			for _, l := range [][]corev1.EndpointAddress{s.Addresses, s.NotReadyAddresses} {
				for i := range l {
					if l[i].TargetRef != nil {
						l[i].TargetRef.ResourceVersion = ""
					}
				}
			}
			out = append(out, s)
		}
		return out
	}
	return equality.Semantic.DeepEqual(strip(a), strip(b))
}

func capacityAnnotationCorrect(annotations map[string]string, subsets []corev1.EndpointSubset) bool {
	n := 0
	for _, s := range subsets {
		n += len(s.Addresses) + len(s.NotReadyAddresses)
	}
	if n > MaxCapacity {
		return false
	}
	_, ok := annotations[corev1.EndpointsOverCapacity]
	return !ok
}

// Truncate cuts ep down to MaxCapacity addresses, ready ones first, spreading the cut over the
// subsets in proportion to their size, as Kubernetes does. It reports whether it cut.
func Truncate(ep *corev1.Endpoints) bool {
	ready, notReady := 0, 0
	for _, s := range ep.Subsets {
		ready += len(s.Addresses)
		notReady += len(s.NotReadyAddresses)
	}
	if ready+notReady <= MaxCapacity {
		return false
	}
	truncateReady := ready > MaxCapacity
	limit, total := MaxCapacity-ready, notReady
	if truncateReady {
		limit, total = MaxCapacity, ready
	}
	left := limit
	for i := range ep.Subsets {
		s := &ep.Subsets[i]
		n := len(s.NotReadyAddresses)
		if truncateReady {
			n = len(s.Addresses)
		}
		take := min(int(math.Ceil(float64(n)/float64(total)*float64(limit))), left)
		if truncateReady {
			if len(s.Addresses) > take {
				s.Addresses = s.Addresses[:take]
			}
			s.NotReadyAddresses = []corev1.EndpointAddress{}
			left -= len(s.Addresses)
		} else {
			if len(s.NotReadyAddresses) > take {
				s.NotReadyAddresses = s.NotReadyAddresses[:take]
			}
			left -= len(s.NotReadyAddresses)
		}
	}
	return true
}

// triggerTracker computes the endpoints.kubernetes.io/last-change-trigger-time of a sync as
// upstream's TriggerTimeTracker does: the earliest trigger time (a pod's last Ready transition,
// the Service's creation) among the pods and Service that changed since the last sync.
type triggerTracker struct {
	mu    sync.Mutex
	state map[string]triggerState
}

type triggerState struct {
	service time.Time
	pods    map[string]time.Time
}

func newTriggerTracker() *triggerTracker { return &triggerTracker{state: map[string]triggerState{}} }

func (t *triggerTracker) compute(key string, svc *corev1.Service, pods []*corev1.Pod) time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	old, known := t.state[key]
	var earliest time.Time
	consider := func(at time.Time) {
		if !at.IsZero() && (earliest.IsZero() || at.Before(earliest)) {
			earliest = at
		}
	}
	now := triggerState{service: svc.CreationTimestamp.Time, pods: map[string]time.Time{}}
	if !known || !old.service.Equal(now.service) {
		consider(now.service)
	}
	for _, p := range pods {
		var at time.Time
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady {
				at = c.LastTransitionTime.Time
			}
		}
		now.pods[p.Name] = at
		if prev, ok := old.pods[p.Name]; !ok || !prev.Equal(at) {
			consider(at)
		}
	}
	t.state[key] = now
	return earliest
}

func (t *triggerTracker) forget(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.state, key)
}
