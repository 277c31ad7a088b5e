package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilnet "k8s.io/apimachinery/pkg/util/net"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/apiserver/registry"
)

// The kubernetes Service.
//
// Like kube-apiserver (pkg/controlplane/controller/kubernetesservice and the lease endpoint
// reconciler of pkg/controlplane/reconcilers), the server keeps three objects in the default
// namespace that let clients inside the cluster find the API:
//
//   - Service default/kubernetes: ClusterIP the first address of the service CIDR (reserved for
//     it, see allocateService), one port "https" 443/TCP whose targetPort is the advertised port,
//     no selector, labels component=apiserver and provider=kubernetes;
//   - Endpoints default/kubernetes: one subset with the advertised address of every live API
//     server and the port "https" = the advertised port, labelled
//     endpointslice.kubernetes.io/skip-mirror=true so that no mirroring controller copies it;
//   - EndpointSlice default/kubernetes: the same addresses (ready) and port, labelled
//     kubernetes.io/service-name=kubernetes and nothing else (upstream's endpoints adapter
//     writes it itself; it is not managed by the EndpointSlice controller).
//
// Every API server renews a lease on its advertised address (a store key under
// /registry/masterleases/, valid for 1.5 reconcile intervals) and then makes the Endpoints and
// the EndpointSlice list exactly the addresses of the live leases, deleting expired ones: the
// address of an API server that stopped renewing disappears. A pass runs at start, every
// Config.EndpointReconcileInterval (default 10 s, as upstream) and shortly after any change to
// one of the three objects (upstream only polls), so a deleted object comes back and an edited
// one is repaired at once. A pass that finds everything as wanted writes nothing but the lease.
// On shutdown the server drops its lease and its address, as upstream does.
//
// Like Kubernetes, every API server sharing a store must advertise the same port: the
// Endpoints have one port.

const (
	kubernetesServiceName = "kubernetes"
	kubernetesPortName    = "https"
	kubernetesServicePort = 443
	masterLeasePrefix     = "/registry/masterleases/"
	// minEventReconcileGap coalesces the watch events of a burst of writes into one pass, and
	// bounds how fast two misconfigured API servers (different ports) can overwrite each other.
	minEventReconcileGap = 100 * time.Millisecond
)

// DefaultEndpointReconcileInterval is how often the kubernetes Service and its endpoints are
// reconciled when Config.EndpointReconcileInterval is zero (kube-apiserver's default).
const DefaultEndpointReconcileInterval = 10 * time.Second

// masterLease is the value of one API server's lease key.
type masterLease struct {
	IP        string    `json:"ip"`
	Port      int       `json:"port"`
	RenewTime time.Time `json:"renewTime"`
}

// kubernetesService is the state of the reconciler.
type kubernetesService struct {
	mu      sync.Mutex
	started bool
	stopped bool
	addr    netip.Addr
	port    int
	cancel  context.CancelFunc
	done    chan struct{}
}

// advertised returns the address and port to publish for a server listening on ln: the
// configured ones, else the listener's (a listener on 0.0.0.0 or :: publishes the address of
// the host's default-route interface, as kube-apiserver's --advertise-address default).
func (s *Server) advertised(ln net.Listener) (netip.Addr, int) {
	addr, port := s.cfg.AdvertiseAddress, s.cfg.AdvertisePort
	tcp, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		return addr, port
	}
	if port == 0 {
		port = tcp.Port
	}
	if !addr.IsValid() {
		if a, ok := netip.AddrFromSlice(tcp.IP); ok && !a.Unmap().IsUnspecified() {
			addr = a.Unmap()
		} else if ip, err := utilnet.ResolveBindAddress(tcp.IP); err == nil {
			addr, _ = netip.AddrFromSlice(ip)
			addr = addr.Unmap()
		} else {
			s.cfg.ErrorLog("apiserver: no address to publish in the kubernetes Service's endpoints: %v", err)
		}
	}
	return addr, port
}

// startKubernetesService runs the first reconcile pass and starts the loop, once. It does
// nothing without an address and a port to publish.
func (s *Server) startKubernetesService(ctx context.Context, addr netip.Addr, port int) {
	k := &s.kube
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.started || k.stopped || !addr.IsValid() || port <= 0 || port > 65535 {
		return
	}
	k.started, k.addr, k.port = true, addr, port
	if err := s.reconcileKubernetesService(ctx, addr, port); err != nil {
		s.cfg.ErrorLog("apiserver: reconciling the kubernetes service: %v", err)
	}
	loopCtx, cancel := context.WithCancel(s.bg)
	k.cancel, k.done = cancel, make(chan struct{})
	go s.runKubernetesService(loopCtx, k.done, addr, port)
}

// stopKubernetesService stops the loop and removes this server's address (bounded in time:
// shutdown must not hang on an unreachable store). Later starts do nothing.
func (s *Server) stopKubernetesService() {
	k := &s.kube
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped {
		return
	}
	k.stopped = true
	if !k.started {
		return
	}
	k.cancel()
	<-k.done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.removeKubernetesEndpoint(ctx, k.addr, k.port); err != nil {
		s.cfg.ErrorLog("apiserver: removing this server from the kubernetes service's endpoints: %v", err)
	}
}

// runKubernetesService reconciles every interval and shortly after a change to one of the
// three objects, until ctx is done.
func (s *Server) runKubernetesService(ctx context.Context, done chan struct{}, addr netip.Addr, port int) {
	defer close(done)
	trigger := make(chan struct{}, 1)
	var watchers sync.WaitGroup
	for _, res := range s.kubernetesResources() {
		watchers.Add(1)
		go func() {
			defer watchers.Done()
			s.watchKubernetesObject(ctx, res, trigger)
		}()
	}
	defer watchers.Wait()
	t := time.NewTicker(s.cfg.EndpointReconcileInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-trigger:
			select {
			case <-ctx.Done():
				return
			case <-time.After(minEventReconcileGap):
			}
		}
		select {
		case <-trigger:
		default:
		}
		if err := s.reconcileKubernetesService(ctx, addr, port); err != nil && ctx.Err() == nil {
			s.cfg.ErrorLog("apiserver: reconciling the kubernetes service: %v", err)
		}
	}
}

// kubernetesResources are the served resources of the three objects.
func (s *Server) kubernetesResources() []*registry.Resource {
	var out []*registry.Resource
	for _, res := range []*registry.Resource{s.serviceResource(), s.endpointsResource(), s.endpointSliceResource()} {
		if res != nil {
			out = append(out, res)
		}
	}
	return out
}

// watchKubernetesObject signals trigger on every change to res default/kubernetes, and once each
// time its watch (from now) is established: a change made before that — while the watch was
// starting with the server, or between a watch that ended (compaction, a store hiccup) and its
// restart — is seen by no watch, so a pass must look.
func (s *Server) watchKubernetesObject(ctx context.Context, res *registry.Resource, trigger chan<- struct{}) {
	signal := func() {
		select {
		case trigger <- struct{}{}:
		default:
		}
	}
	for ctx.Err() == nil {
		events, errc, err := s.objects.Watch(ctx, res, metav1.NamespaceDefault, 0)
		if err == nil {
			signal()
			for ev := range events {
				if m := objectMeta(ev.Object); m != nil && m.GetName() == kubernetesServiceName {
					signal()
				}
			}
			err = <-errc
		}
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.cfg.ErrorLog("apiserver: watching %s for the kubernetes service (restarting): %v", res.Resource, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// reconcileKubernetesService is one pass: the Service, this server's lease, the Endpoints and
// the EndpointSlice.
func (s *Server) reconcileKubernetesService(ctx context.Context, addr netip.Addr, port int) error {
	var errs []error
	if err := s.ensureKubernetesService(ctx, port); err != nil {
		errs = append(errs, fmt.Errorf("service: %w", err))
	}
	if err := s.renewMasterLease(ctx, addr, port); err != nil {
		return errors.Join(append(errs, fmt.Errorf("renewing the lease of %s: %w", addr, err))...)
	}
	ips, err := s.liveMasterLeases(ctx)
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("listing API server leases: %w", err))...)
	}
	if err := s.reconcileKubernetesEndpoints(ctx, ips, port); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// removeKubernetesEndpoint drops this server's lease and its address from the endpoints.
func (s *Server) removeKubernetesEndpoint(ctx context.Context, addr netip.Addr, port int) error {
	key := masterLeasePrefix + addr.String()
	if _, err := s.cfg.Store.Delete(ctx, key, 0); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	ips, err := s.liveMasterLeases(ctx)
	if err != nil {
		return err
	}
	return s.reconcileKubernetesEndpoints(ctx, ips, port)
}

// KubernetesServiceIP returns the ClusterIP of the kubernetes Service: the first address of the
// service CIDR, which no other Service can get.
func (s *Server) KubernetesServiceIP() netip.Addr { return s.ranges.ips.addr(0) }

func isKubernetesService(namespace, name string) bool {
	return namespace == metav1.NamespaceDefault && name == kubernetesServiceName
}

func kubernetesServicePorts(port int) []corev1.ServicePort {
	return []corev1.ServicePort{{
		Name: kubernetesPortName, Protocol: corev1.ProtocolTCP, Port: kubernetesServicePort,
		TargetPort: intstr.FromInt32(int32(port)),
	}}
}

// ensureKubernetesService creates the Service when it is missing and puts back its type and
// ports when they were edited (upstream's getMasterServiceUpdateIfNeeded; upstream applies it
// only when asked, clusterkit on every pass). Its ClusterIP cannot change once allocated.
func (s *Server) ensureKubernetesService(ctx context.Context, port int) error {
	res := s.serviceResource()
	if res == nil {
		return nil
	}
	ip := s.KubernetesServiceIP().String()
	ports := kubernetesServicePorts(port)
	cur, err := s.objects.Get(ctx, res, metav1.NamespaceDefault, kubernetesServiceName)
	if apierrors.IsNotFound(err) {
		single := corev1.IPFamilyPolicySingleStack
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{
				Name: kubernetesServiceName, Namespace: metav1.NamespaceDefault,
				Labels: map[string]string{"component": "apiserver", "provider": "kubernetes"},
			},
			Spec: corev1.ServiceSpec{
				Type: corev1.ServiceTypeClusterIP, ClusterIP: ip, ClusterIPs: []string{ip},
				IPFamilyPolicy: &single, SessionAffinity: corev1.ServiceAffinityNone, Ports: ports,
			},
		}
		_, err = s.create(ctx, res, svc, writeOpts{manager: apiServerManager})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	}
	if err != nil {
		return err
	}
	svc := cur.(*corev1.Service)
	if svc.DeletionTimestamp != nil || kubernetesServiceFormatCorrect(svc, ports) {
		return nil
	}
	_, err = s.update(ctx, request{res: res, namespace: metav1.NamespaceDefault, name: kubernetesServiceName}, writeOpts{manager: apiServerManager}, false,
		func(cur runtime.Object) (runtime.Object, []string, error) {
			svc := cur.(*corev1.Service)
			svc.ResourceVersion = ""
			if svc.Spec.Type != corev1.ServiceTypeClusterIP {
				svc.Spec.Type = corev1.ServiceTypeClusterIP
				svc.Spec.ExternalName = ""
				if svc.Spec.ClusterIP == "" {
					svc.Spec.ClusterIP, svc.Spec.ClusterIPs = ip, []string{ip}
				}
			}
			svc.Spec.Ports = kubernetesServicePorts(port)
			return svc, nil, nil
		})
	if apierrors.IsNotFound(err) {
		return nil // deleted in between: the watch triggers the next pass
	}
	return err
}

func kubernetesServiceFormatCorrect(svc *corev1.Service, ports []corev1.ServicePort) bool {
	if svc.Spec.Type != corev1.ServiceTypeClusterIP || len(svc.Spec.Ports) != len(ports) {
		return false
	}
	for i := range ports {
		if !equality.Semantic.DeepEqual(svc.Spec.Ports[i], ports[i]) {
			return false
		}
	}
	return true
}

// renewMasterLease creates or refreshes the lease of addr.
func (s *Server) renewMasterLease(ctx context.Context, addr netip.Addr, port int) error {
	key := masterLeasePrefix + addr.String()
	data, err := json.Marshal(masterLease{IP: addr.String(), Port: port, RenewTime: s.now().UTC()})
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		kv, err := s.cfg.Store.Get(ctx, key)
		if apierrors.IsNotFound(err) {
			_, err = s.cfg.Store.Create(ctx, key, data)
		} else if err == nil {
			_, err = s.cfg.Store.Update(ctx, key, data, kv.ModRevision)
		}
		if (apierrors.IsAlreadyExists(err) || apierrors.IsConflict(err) || apierrors.IsNotFound(err)) && attempt < 3 {
			continue
		}
		return err
	}
}

// leaseTTL is how long a lease stays live without renewal (upstream: 15 s for 10 s passes).
func (s *Server) leaseTTL() time.Duration { return s.cfg.EndpointReconcileInterval * 3 / 2 }

// liveMasterLeases returns the addresses of the unexpired leases, in address order, and deletes
// the expired ones.
func (s *Server) liveMasterLeases(ctx context.Context) ([]string, error) {
	lr, err := s.cfg.Store.List(ctx, masterLeasePrefix, interfaces.ListOptions{})
	if err != nil {
		return nil, err
	}
	cutoff := s.now().Add(-s.leaseTTL())
	var addrs []netip.Addr
	for _, kv := range lr.Items {
		var l masterLease
		a, perr := netip.ParseAddr(kv.Key[len(masterLeasePrefix):])
		if json.Unmarshal(kv.Value, &l) != nil || perr != nil || l.RenewTime.Before(cutoff) {
			if _, err := s.cfg.Store.Delete(ctx, kv.Key, kv.ModRevision); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				return nil, err
			}
			continue
		}
		addrs = append(addrs, a)
	}
	sort.Slice(addrs, func(i, j int) bool { return addrs[i].Less(addrs[j]) })
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	return out, nil
}

func (s *Server) endpointsResource() *registry.Resource {
	return s.registry().Lookup(corev1.SchemeGroupVersion.WithResource("endpoints"))
}

func (s *Server) endpointSliceResource() *registry.Resource {
	return s.registry().Lookup(discoveryv1.SchemeGroupVersion.WithResource("endpointslices"))
}

// kubernetesSubsets is what the Endpoints must hold: one subset of every address and the port,
// or none when no API server is live.
func kubernetesSubsets(ips []string, port int) []corev1.EndpointSubset {
	if len(ips) == 0 {
		return nil
	}
	sub := corev1.EndpointSubset{Ports: []corev1.EndpointPort{{Name: kubernetesPortName, Port: int32(port), Protocol: corev1.ProtocolTCP}}}
	for _, ip := range ips {
		sub.Addresses = append(sub.Addresses, corev1.EndpointAddress{IP: ip})
	}
	return []corev1.EndpointSubset{sub}
}

// kubernetesSlice is what the EndpointSlice must hold (upstream's endpointSliceFromEndpoints).
func kubernetesSlice(ips []string, port int) *discoveryv1.EndpointSlice {
	es := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Name: kubernetesServiceName, Namespace: metav1.NamespaceDefault,
			Labels: map[string]string{discoveryv1.LabelServiceName: kubernetesServiceName},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{},
	}
	allV6 := len(ips) > 0
	for _, ip := range ips {
		if a, err := netip.ParseAddr(ip); err != nil || !a.Is6() {
			allV6 = false
		}
	}
	if allV6 {
		es.AddressType = discoveryv1.AddressTypeIPv6
	}
	if len(ips) > 0 {
		name, proto, p := kubernetesPortName, corev1.ProtocolTCP, int32(port)
		es.Ports = []discoveryv1.EndpointPort{{Name: &name, Protocol: &proto, Port: &p}}
	}
	for _, ip := range ips {
		a, _ := netip.ParseAddr(ip)
		if a.Is6() != allV6 {
			continue
		}
		ready := true
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}})
	}
	return es
}

// reconcileKubernetesEndpoints makes the Endpoints and the EndpointSlice hold ips and port.
func (s *Server) reconcileKubernetesEndpoints(ctx context.Context, ips []string, port int) error {
	var errs []error
	if err := s.reconcileKubernetesEndpointsObject(ctx, ips, port); err != nil {
		errs = append(errs, fmt.Errorf("endpoints: %w", err))
	}
	if err := s.reconcileKubernetesSlice(ctx, ips, port); err != nil {
		errs = append(errs, fmt.Errorf("endpointslice: %w", err))
	}
	return errors.Join(errs...)
}

func (s *Server) reconcileKubernetesEndpointsObject(ctx context.Context, ips []string, port int) error {
	res := s.endpointsResource()
	if res == nil {
		return nil
	}
	want := kubernetesSubsets(ips, port)
	cur, err := s.objects.Get(ctx, res, metav1.NamespaceDefault, kubernetesServiceName)
	if apierrors.IsNotFound(err) {
		if len(ips) == 0 {
			return nil
		}
		ep := &corev1.Endpoints{
			ObjectMeta: metav1.ObjectMeta{
				Name: kubernetesServiceName, Namespace: metav1.NamespaceDefault,
				Labels: map[string]string{discoveryv1.LabelSkipMirror: "true"},
			},
			Subsets: want,
		}
		_, err = s.create(ctx, res, ep, writeOpts{manager: apiServerManager})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	}
	if err != nil {
		return err
	}
	ep := cur.(*corev1.Endpoints)
	if ep.DeletionTimestamp != nil || (ep.Labels[discoveryv1.LabelSkipMirror] == "true" && equality.Semantic.DeepEqual(ep.Subsets, want)) {
		return nil
	}
	_, err = s.update(ctx, request{res: res, namespace: metav1.NamespaceDefault, name: kubernetesServiceName}, writeOpts{manager: apiServerManager}, false,
		func(cur runtime.Object) (runtime.Object, []string, error) {
			ep := cur.(*corev1.Endpoints)
			ep.ResourceVersion = ""
			if ep.Labels == nil {
				ep.Labels = map[string]string{}
			}
			ep.Labels[discoveryv1.LabelSkipMirror] = "true"
			ep.Subsets = kubernetesSubsets(ips, port)
			return ep, nil, nil
		})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func (s *Server) reconcileKubernetesSlice(ctx context.Context, ips []string, port int) error {
	res := s.endpointSliceResource()
	if res == nil {
		return nil
	}
	want := kubernetesSlice(ips, port)
	cur, err := s.objects.Get(ctx, res, metav1.NamespaceDefault, kubernetesServiceName)
	if apierrors.IsNotFound(err) {
		if len(ips) == 0 {
			return nil
		}
		_, err = s.create(ctx, res, want, writeOpts{manager: apiServerManager})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	}
	if err != nil {
		return err
	}
	es := cur.(*discoveryv1.EndpointSlice)
	if es.DeletionTimestamp != nil {
		return nil
	}
	if es.AddressType != want.AddressType {
		// addressType is immutable: replace the slice.
		if _, _, err := s.deleteObject(ctx, res, metav1.NamespaceDefault, kubernetesServiceName, &metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		_, err = s.create(ctx, res, want, writeOpts{manager: apiServerManager})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	}
	if equality.Semantic.DeepEqual(es.Endpoints, want.Endpoints) && equality.Semantic.DeepEqual(es.Ports, want.Ports) &&
		equality.Semantic.DeepEqual(es.Labels, want.Labels) {
		return nil
	}
	_, err = s.update(ctx, request{res: res, namespace: metav1.NamespaceDefault, name: kubernetesServiceName}, writeOpts{manager: apiServerManager}, false,
		func(cur runtime.Object) (runtime.Object, []string, error) {
			es := cur.(*discoveryv1.EndpointSlice)
			es.ResourceVersion = ""
			es.Endpoints, es.Ports, es.Labels = want.Endpoints, want.Ports, want.Labels
			return es, nil, nil
		})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
