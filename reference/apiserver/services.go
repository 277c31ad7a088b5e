package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/apiserver/registry"
	"github.com/clusterkit/clusterkit/reference/apiserver/storage"
)

// The hooks of the service create, update and delete paths: ClusterIP and NodePort allocation
// (allocator.go holds the ranges and the crash-ordering argument) and the Kubernetes rules for
// changing a Service's type.

var (
	svcSpec = field.NewPath("spec")
	svcGK   = corev1.SchemeGroupVersion.WithKind("Service").GroupKind()
	svcIPv4 = []corev1.IPFamily{corev1.IPv4Protocol}
)

// svcRepGr is the message of a failed dynamic allocation (as Kubernetes').
const svcRepGr = "failed to allocate a %s: %v"

func needsClusterIP(svc *corev1.Service) bool { return svc.Spec.Type != corev1.ServiceTypeExternalName }

func needsNodePorts(svc *corev1.Service) bool {
	switch svc.Spec.Type {
	case corev1.ServiceTypeNodePort:
		return true
	case corev1.ServiceTypeLoadBalancer:
		return svc.Spec.AllocateLoadBalancerNodePorts == nil || *svc.Spec.AllocateLoadBalancerNodePorts
	}
	return false
}

func needsHealthCheckNodePort(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeLoadBalancer && svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
}

func externallyAccessible(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer
}

// normalizeServiceUpdate applies Kubernetes' rules for an update of oldSvc into newSvc before
// validation: fields that only the old type needs are dropped when the client left them as they
// were (so `kubectl patch -p '{"spec":{"type":"ClusterIP"}}'` of a NodePort service works), and
// allocated values the client omitted (a PUT without clusterIP or nodePort) are carried over
// when both types need them.
func normalizeServiceUpdate(newSvc, oldSvc *corev1.Service) {
	n, o := &newSvc.Spec, &oldSvc.Spec
	if needsClusterIP(oldSvc) && !needsClusterIP(newSvc) && n.ClusterIP == o.ClusterIP &&
		(len(n.ClusterIPs) == 0 || reflect.DeepEqual(n.ClusterIPs, o.ClusterIPs)) {
		n.ClusterIP, n.ClusterIPs, n.IPFamilies, n.IPFamilyPolicy = "", nil, nil, nil
	}
	if needsNodePorts(oldSvc) && !needsNodePorts(newSvc) && sameNodePorts(newSvc, oldSvc) {
		for i := range n.Ports {
			n.Ports[i].NodePort = 0
		}
	}
	if needsHealthCheckNodePort(oldSvc) && !needsHealthCheckNodePort(newSvc) && n.HealthCheckNodePort == o.HealthCheckNodePort {
		n.HealthCheckNodePort = 0
	}
	if !externallyAccessible(newSvc) {
		n.ExternalTrafficPolicy = ""
	}
	if needsClusterIP(oldSvc) && needsClusterIP(newSvc) {
		if n.ClusterIP == "" && len(n.ClusterIPs) == 0 {
			n.ClusterIP = o.ClusterIP
			n.ClusterIPs = append([]string(nil), o.ClusterIPs...)
		}
		if len(n.IPFamilies) == 0 {
			n.IPFamilies = append([]corev1.IPFamily(nil), o.IPFamilies...)
		}
		if n.IPFamilyPolicy == nil {
			n.IPFamilyPolicy = o.IPFamilyPolicy
		}
	}
	if needsNodePorts(oldSvc) && needsNodePorts(newSvc) {
		for i := range n.Ports {
			if n.Ports[i].NodePort != 0 {
				continue
			}
			if op := matchingPort(o.Ports, n.Ports[i]); op != nil {
				n.Ports[i].NodePort = op.NodePort
			}
		}
	}
	if needsHealthCheckNodePort(oldSvc) && needsHealthCheckNodePort(newSvc) && n.HealthCheckNodePort == 0 {
		n.HealthCheckNodePort = o.HealthCheckNodePort
	}
}

func sameNodePorts(a, b *corev1.Service) bool {
	for _, p := range a.Spec.Ports {
		if p.NodePort == 0 {
			continue
		}
		op := matchingPort(b.Spec.Ports, p)
		if op == nil || op.NodePort != p.NodePort {
			return false
		}
	}
	return true
}

// matchingPort finds the port of ports that p continues: the same name when p is named, else
// the same port number and protocol.
func matchingPort(ports []corev1.ServicePort, p corev1.ServicePort) *corev1.ServicePort {
	for i := range ports {
		q := &ports[i]
		if p.Name != "" && q.Name == p.Name {
			return q
		}
		if p.Name == "" && q.Port == p.Port && q.Protocol == p.Protocol {
			return q
		}
	}
	return nil
}

// serviceKeys returns the range keys a stored service holds.
func serviceKeys(svc *corev1.Service) map[string]bool {
	keys := map[string]bool{}
	ips := svc.Spec.ClusterIPs
	if len(ips) == 0 && svc.Spec.ClusterIP != "" {
		ips = []string{svc.Spec.ClusterIP}
	}
	for _, ip := range ips {
		if a, err := netip.ParseAddr(ip); err == nil {
			keys[ipKey(a)] = true
		}
	}
	for _, p := range svc.Spec.Ports {
		if p.NodePort != 0 {
			keys[portKey(int(p.NodePort))] = true
		}
	}
	if svc.Spec.HealthCheckNodePort != 0 {
		keys[portKey(int(svc.Spec.HealthCheckNodePort))] = true
	}
	return keys
}

// serviceTx is what one write of a service took and what it gives back once stored.
type serviceTx struct {
	r     *ranges
	uid   types.UID
	keep  map[string]bool // keys the stored object holds before the write
	taken []string        // keys this write created
	drop  []string        // keys to release after the write
}

// rollback releases what the write took (the write failed or is retried).
func (tx *serviceTx) rollback(ctx context.Context) {
	if tx == nil {
		return
	}
	for _, k := range tx.taken {
		if !tx.keep[k] {
			_ = tx.r.release(ctx, k, tx.uid)
		}
	}
	tx.taken = nil
}

// commit releases what the stored write dropped.
func (tx *serviceTx) commit(ctx context.Context) {
	if tx == nil {
		return
	}
	for _, k := range tx.drop {
		_ = tx.r.release(ctx, k, tx.uid)
	}
}

// allocateService fills in and takes the ClusterIP and NodePorts svc needs. old is the stored
// object for an update (nil on create). Errors are API errors: 422 for a requested address that
// is outside the range or taken, 500 when a range is full.
func (s *Server) allocateService(ctx context.Context, svc, old *corev1.Service) (*serviceTx, error) {
	r := s.ranges
	tx := &serviceTx{r: r, uid: svc.UID, keep: map[string]bool{}}
	if old != nil {
		tx.keep = serviceKeys(old)
	}
	owner := allocation{Namespace: svc.Namespace, Name: svc.Name, UID: svc.UID}
	var errs field.ErrorList
	fail := func(err error) (*serviceTx, error) {
		tx.rollback(ctx)
		return nil, err
	}
	take := func(key string) error {
		created, err := r.claim(ctx, key, owner)
		if created {
			tx.taken = append(tx.taken, key)
		}
		return err
	}
	spec := &svc.Spec
	if needsClusterIP(svc) {
		errs = append(errs, checkFamilies(svc)...)
		if len(errs) > 0 {
			return fail(apierrors.NewInvalid(svcGK, svc.Name, errs))
		}
		if len(spec.IPFamilies) == 0 {
			spec.IPFamilies = append([]corev1.IPFamily(nil), svcIPv4...)
		}
		if spec.IPFamilyPolicy == nil {
			p := corev1.IPFamilyPolicySingleStack
			spec.IPFamilyPolicy = &p
		}
		path := svcSpec.Child("clusterIPs").Index(0)
		switch spec.ClusterIP {
		case corev1.ClusterIPNone:
			spec.ClusterIPs = []string{corev1.ClusterIPNone}
		case "":
			ip, err := r.allocateIP(ctx, owner)
			if errors.Is(err, errRangeFull) {
				return fail(apierrors.NewInternalError(fmt.Errorf(svcRepGr, "serviceIP", err)))
			}
			if err != nil {
				return fail(apierrors.NewInternalError(fmt.Errorf(svcRepGr, "serviceIP", err)))
			}
			tx.taken = append(tx.taken, ipKey(ip))
			spec.ClusterIP, spec.ClusterIPs = ip.String(), []string{ip.String()}
		default:
			ip, err := netip.ParseAddr(spec.ClusterIP)
			if err != nil || r.ips.index(ip) < 0 {
				return fail(apierrors.NewInvalid(svcGK, svc.Name, field.ErrorList{field.Invalid(path, spec.ClusterIP,
					fmt.Sprintf("failed to allocate IP %s: provided IP is not in the valid range. The range of valid IPs is %s", spec.ClusterIP, r.ips.prefix))}))
			}
			if ip == r.ips.addr(0) && !isKubernetesService(svc.Namespace, svc.Name) && !tx.keep[ipKey(ip)] {
				// Reserved for the kubernetes Service (kubernetesservice.go), also while it is
				// deleted and not yet recreated.
				return fail(apierrors.NewInvalid(svcGK, svc.Name, field.ErrorList{field.Invalid(path, spec.ClusterIP,
					fmt.Sprintf("failed to allocate IP %s: provided IP is already allocated", spec.ClusterIP))}))
			}
			if err := take(ipKey(ip)); err != nil {
				if errors.Is(err, errTaken) {
					return fail(apierrors.NewInvalid(svcGK, svc.Name, field.ErrorList{field.Invalid(path, spec.ClusterIP,
						fmt.Sprintf("failed to allocate IP %s: provided IP is already allocated", spec.ClusterIP))}))
				}
				return fail(apierrors.NewInternalError(err))
			}
			spec.ClusterIPs = []string{spec.ClusterIP}
		}
	}
	if needsNodePorts(svc) {
		// Requested node ports first, so that allocated ones never take them.
		byPort := map[int32]int32{} // service port number -> node port (TCP and UDP share)
		for i := range spec.Ports {
			p := &spec.Ports[i]
			if p.NodePort == 0 {
				continue
			}
			path := svcSpec.Child("ports").Index(i).Child("nodePort")
			if !r.ports.contains(int(p.NodePort)) {
				return fail(apierrors.NewInvalid(svcGK, svc.Name, field.ErrorList{field.Invalid(path, p.NodePort,
					fmt.Sprintf("provided port is not in the valid range. The range of valid ports is %s", r.ports))}))
			}
			if err := take(portKey(int(p.NodePort))); err != nil {
				if errors.Is(err, errTaken) {
					return fail(apierrors.NewInvalid(svcGK, svc.Name, field.ErrorList{field.Invalid(path, p.NodePort, "provided port is already allocated")}))
				}
				return fail(apierrors.NewInternalError(err))
			}
			byPort[p.Port] = p.NodePort
		}
		for i := range spec.Ports {
			p := &spec.Ports[i]
			if p.NodePort != 0 {
				continue
			}
			if np, ok := byPort[p.Port]; ok {
				p.NodePort = np
				continue
			}
			np, err := r.allocatePort(ctx, owner, nil)
			if err != nil {
				return fail(apierrors.NewInternalError(fmt.Errorf(svcRepGr, "nodePort", err)))
			}
			tx.taken = append(tx.taken, portKey(np))
			p.NodePort = int32(np)
			byPort[p.Port] = p.NodePort
		}
	}
	if needsHealthCheckNodePort(svc) {
		path := svcSpec.Child("healthCheckNodePort")
		if hc := int(spec.HealthCheckNodePort); hc != 0 {
			if !r.ports.contains(hc) {
				return fail(apierrors.NewInvalid(svcGK, svc.Name, field.ErrorList{field.Invalid(path, hc,
					fmt.Sprintf("provided port is not in the valid range. The range of valid ports is %s", r.ports))}))
			}
			if err := take(portKey(hc)); err != nil {
				if errors.Is(err, errTaken) {
					return fail(apierrors.NewInvalid(svcGK, svc.Name, field.ErrorList{field.Invalid(path, hc, "provided port is already allocated")}))
				}
				return fail(apierrors.NewInternalError(err))
			}
		} else {
			np, err := r.allocatePort(ctx, owner, nil)
			if err != nil {
				return fail(apierrors.NewInternalError(fmt.Errorf(svcRepGr, "healthCheckNodePort", err)))
			}
			tx.taken = append(tx.taken, portKey(np))
			spec.HealthCheckNodePort = int32(np)
		}
	}
	if old != nil {
		now := serviceKeys(svc)
		for k := range tx.keep {
			if !now[k] {
				tx.drop = append(tx.drop, k)
			}
		}
	}
	return tx, nil
}

// checkFamilies rejects what a single-stack IPv4 cluster cannot serve.
func checkFamilies(svc *corev1.Service) field.ErrorList {
	var errs field.ErrorList
	spec := &svc.Spec
	if p := spec.IPFamilyPolicy; p != nil && *p == corev1.IPFamilyPolicyRequireDualStack {
		errs = append(errs, field.Invalid(svcSpec.Child("ipFamilyPolicy"), *p, "this cluster is not configured for dual-stack services"))
	}
	for i, f := range spec.IPFamilies {
		if f != corev1.IPv4Protocol || i > 0 {
			errs = append(errs, field.Invalid(svcSpec.Child("ipFamilies").Index(i), f, "not configured on this cluster"))
		}
	}
	if len(spec.ClusterIPs) > 1 {
		errs = append(errs, field.Invalid(svcSpec.Child("clusterIPs"), spec.ClusterIPs, "this cluster is not configured for dual-stack services"))
	}
	return errs
}

// serviceDeleted releases the addresses of a service that is gone from the store.
func (s *Server) serviceDeleted(ctx context.Context, obj runtime.Object) {
	svc, ok := obj.(*corev1.Service)
	if !ok || s.ranges == nil {
		return
	}
	for k := range serviceKeys(svc) {
		if err := s.ranges.release(ctx, k, svc.UID); err != nil {
			s.cfg.ErrorLog("apiserver: releasing %s of service %s/%s (left for repair): %v", k, svc.Namespace, svc.Name, err)
		}
	}
}

// repairAllocations reconciles the range keys with the stored services: a service's address
// without a key gets its key back; a key no stored service holds is released once it is older
// than grace (younger ones may belong to a create still in flight).
func (s *Server) repairAllocations(ctx context.Context, grace time.Duration) error {
	res := s.serviceResource()
	if res == nil {
		return nil
	}
	lr, err := s.objects.List(ctx, res, "", storage.ListOptions{})
	if err != nil {
		return err
	}
	held := map[string]types.UID{}
	for _, obj := range lr.Items {
		svc := obj.(*corev1.Service)
		for k := range serviceKeys(svc) {
			held[k] = svc.UID
			if _, err := s.ranges.claim(ctx, k, allocation{Namespace: svc.Namespace, Name: svc.Name, UID: svc.UID}); err != nil {
				s.cfg.ErrorLog("apiserver: repair: %s of service %s/%s: %v", k, svc.Namespace, svc.Name, err)
			}
		}
	}
	cutoff := s.now().Add(-grace)
	for _, prefix := range []string{serviceIPPrefix, nodePortPrefix} {
		page, err := s.cfg.Store.List(ctx, prefix, interfaces.ListOptions{})
		if err != nil {
			return err
		}
		for _, kv := range page.Items {
			var a allocation
			if json.Unmarshal(kv.Value, &a) != nil {
				continue
			}
			if uid, ok := held[kv.Key]; ok && uid == a.UID {
				continue
			}
			if a.AllocatedAt.After(cutoff) {
				continue
			}
			if _, err := s.cfg.Store.Delete(ctx, kv.Key, kv.ModRevision); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				return err
			}
		}
	}
	return nil
}

// allocatedKeys lists the addresses taken under prefix (the last element of each key).
func (s *Server) allocatedKeys(ctx context.Context, prefix string) ([]string, error) {
	page, err := s.cfg.Store.List(ctx, prefix, interfaces.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(page.Items))
	for _, kv := range page.Items {
		out = append(out, strings.TrimPrefix(kv.Key, prefix))
	}
	return out, nil
}

// AllocatedServiceIPs lists the ClusterIPs taken in the store.
func (s *Server) AllocatedServiceIPs(ctx context.Context) ([]string, error) {
	return s.allocatedKeys(ctx, serviceIPPrefix)
}

// AllocatedNodePorts lists the NodePorts taken in the store.
func (s *Server) AllocatedNodePorts(ctx context.Context) ([]int, error) {
	keys, err := s.allocatedKeys(ctx, nodePortPrefix)
	if err != nil {
		return nil, err
	}
	out := make([]int, 0, len(keys))
	for _, k := range keys {
		if n, err := strconv.Atoi(k); err == nil {
			out = append(out, n)
		}
	}
	return out, nil
}

// RepairAllocations runs one repair pass now (see repairAllocations); grace 0 releases every
// leaked key at once, which is only safe when no service create is in flight.
func (s *Server) RepairAllocations(ctx context.Context, grace time.Duration) error {
	return s.repairAllocations(ctx, grace)
}

// runAllocationRepair repairs at every interval until the server closes.
func (s *Server) runAllocationRepair(interval time.Duration) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-s.bg.Done():
				return
			case <-t.C:
				if err := s.repairAllocations(s.bg, interval); err != nil && s.bg.Err() == nil {
					s.cfg.ErrorLog("apiserver: repairing service allocations: %v", err)
				}
			}
		}
	}()
}

func (s *Server) serviceResource() *registry.Resource {
	return s.registry().Lookup(corev1.SchemeGroupVersion.WithResource("services"))
}
