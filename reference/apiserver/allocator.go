package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	"github.com/clusterkit/clusterkit/interfaces"
)

// Service address allocation.
//
// Every allocated ClusterIP and NodePort is one key in the store:
//
//	/registry/ranges/serviceips/<ip>          e.g. /registry/ranges/serviceips/10.96.0.10
//	/registry/ranges/servicenodeports/<port>  e.g. /registry/ranges/servicenodeports/30080
//
// whose value names the owner (namespace, name, uid) and when it was taken. Taking an address is
// the store's Create of its key, which fails with AlreadyExists when the key exists: two API
// servers (or two requests) can never both get the same address, and because the keys are the
// store's own data they survive restarts of the API server.
//
// The store has no multi-key transactions, so the writes are ordered so that a crash between them
// can only leak an address, never hand one out twice:
//   - create: take the addresses first, then create the Service (a crash in between leaves a key
//     whose owner does not exist: a leak);
//   - update: take the new addresses, write the Service, then release the addresses the update
//     dropped (a crash leaves the dropped ones taken: a leak);
//   - delete: delete the Service, then release its addresses (a crash leaves them taken: a leak).
//
// A key is only ever deleted after no stored Service holds its address, by an owner check
// (uid) and a compare-and-swap delete at the revision that was read. Leaks are repaired by
// repairAllocations, run at Bootstrap and then periodically: a key whose owner does not hold the
// address any more is released once it is older than the repair grace (so an allocation whose
// Service create is still in flight is never taken away), and a stored Service whose address has
// no key gets it back.

const (
	serviceIPPrefix   = "/registry/ranges/serviceips/"
	nodePortPrefix    = "/registry/ranges/servicenodeports/"
	defaultServiceNet = "10.96.0.0/16"
	defaultNodePorts  = "30000-32767"
)

// DefaultServiceCIDR is the ClusterIP range when Config.ServiceCIDR is empty. Service IPs only
// mean something inside the network namespaces where a proxy programs rules for them.
const DefaultServiceCIDR = defaultServiceNet

// DefaultNodePortRange is the NodePort range when Config.NodePortRange is empty (Kubernetes'
// default).
const DefaultNodePortRange = defaultNodePorts

// allocation is the value of one range key.
type allocation struct {
	Namespace   string    `json:"namespace"`
	Name        string    `json:"name"`
	UID         types.UID `json:"uid"`
	AllocatedAt time.Time `json:"allocatedAt"`
}

// ipRange is an IPv4 service CIDR without its network and broadcast addresses.
type ipRange struct {
	prefix netip.Prefix
	base   uint32 // first usable address
	size   int    // usable addresses
}

func parseServiceCIDR(s string) (ipRange, error) {
	if s == "" {
		s = defaultServiceNet
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return ipRange{}, fmt.Errorf("service CIDR %q: %w", s, err)
	}
	p = p.Masked()
	if !p.Addr().Is4() {
		return ipRange{}, fmt.Errorf("service CIDR %q: only IPv4 is supported", s)
	}
	bits := 32 - p.Bits()
	if bits < 2 || bits > 20 {
		return ipRange{}, fmt.Errorf("service CIDR %q: prefix length must be between /12 and /30", s)
	}
	a := p.Addr().As4()
	network := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	return ipRange{prefix: p, base: network + 1, size: 1<<bits - 2}, nil
}

func (r ipRange) addr(i int) netip.Addr {
	v := r.base + uint32(i)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// index returns the offset of ip in the usable range, or -1.
func (r ipRange) index(ip netip.Addr) int {
	if !ip.Is4() || !r.prefix.Contains(ip) {
		return -1
	}
	a := ip.As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	if v < r.base || v >= r.base+uint32(r.size) {
		return -1
	}
	return int(v - r.base)
}

// staticBand is the size of the low part of the range that dynamic allocation uses last, so
// that users who pick their own IPs pick from it without racing the allocator (as Kubernetes).
func (r ipRange) staticBand() int {
	return min(max(16, r.size/16), 256, r.size)
}

// portRange is a NodePort range.
type portRange struct {
	base, size int
}

func parsePortRange(s string) (portRange, error) {
	if s == "" {
		s = defaultNodePorts
	}
	lo, hi, ok := strings.Cut(s, "-")
	if !ok {
		hi = lo
	}
	a, err1 := strconv.Atoi(strings.TrimSpace(lo))
	b, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if err1 != nil || err2 != nil || a < 1 || b > 65535 || a > b {
		return portRange{}, fmt.Errorf("node port range %q: want FIRST-LAST within 1-65535", s)
	}
	return portRange{base: a, size: b - a + 1}, nil
}

func (r portRange) contains(p int) bool { return p >= r.base && p < r.base+r.size }

func (r portRange) String() string { return fmt.Sprintf("%d-%d", r.base, r.base+r.size-1) }

// errRangeFull is returned when no address is left.
var errRangeFull = errors.New("range is full")

// errTaken is returned when a requested address belongs to another owner.
var errTaken = errors.New("provided address is already allocated")

// ranges allocates ClusterIPs and NodePorts in the store.
type ranges struct {
	kv    interfaces.Store
	ips   ipRange
	ports portRange
	now   func() time.Time
}

func ipKey(ip netip.Addr) string { return serviceIPPrefix + ip.String() }
func portKey(p int) string       { return nodePortPrefix + strconv.Itoa(p) }

// claim creates key for owner. It reports whether the key was created now (false: owner already
// held it). A key held by someone else fails with errTaken.
func (r *ranges) claim(ctx context.Context, key string, owner allocation) (bool, error) {
	owner.AllocatedAt = r.now().UTC()
	data, err := json.Marshal(owner)
	if err != nil {
		return false, err
	}
	_, err = r.kv.Create(ctx, key, data)
	if err == nil {
		return true, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return false, err
	}
	kv, gerr := r.kv.Get(ctx, key)
	if apierrors.IsNotFound(gerr) {
		// Released in between: try once more.
		if _, err = r.kv.Create(ctx, key, data); err == nil {
			return true, nil
		}
		if apierrors.IsAlreadyExists(err) {
			return false, errTaken
		}
		return false, err
	}
	if gerr != nil {
		return false, gerr
	}
	var cur allocation
	if json.Unmarshal(kv.Value, &cur) == nil && cur.UID == owner.UID && owner.UID != "" {
		return false, nil
	}
	return false, errTaken
}

// release deletes key if uid holds it. Failures leave a leak for the repair.
func (r *ranges) release(ctx context.Context, key string, uid types.UID) error {
	kv, err := r.kv.Get(ctx, key)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var cur allocation
	if json.Unmarshal(kv.Value, &cur) == nil && cur.UID != uid {
		return nil
	}
	_, err = r.kv.Delete(ctx, key, kv.ModRevision)
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}

// taken lists the keys under prefix (the last path element of each).
func (r *ranges) taken(ctx context.Context, prefix string) (map[string]bool, error) {
	out := map[string]bool{}
	opts := interfaces.ListOptions{Limit: 10000}
	for {
		lr, err := r.kv.List(ctx, prefix, opts)
		if err != nil {
			return nil, err
		}
		for _, kv := range lr.Items {
			out[strings.TrimPrefix(kv.Key, prefix)] = true
		}
		if lr.Continue == "" {
			return out, nil
		}
		opts = interfaces.ListOptions{Limit: 10000, Continue: lr.Continue, Revision: lr.Revision}
	}
}

// allocateIP takes a free ClusterIP for owner, preferring the part of the range above the static
// band. The first address of the range is reserved for the kubernetes Service.
func (r *ranges) allocateIP(ctx context.Context, owner allocation) (netip.Addr, error) {
	used, err := r.taken(ctx, serviceIPPrefix)
	if err != nil {
		return netip.Addr{}, err
	}
	band := r.ips.staticBand()
	try := func(lo, hi int) (netip.Addr, bool, error) {
		n := hi - lo
		if n <= 0 {
			return netip.Addr{}, false, nil
		}
		start := rand.IntN(n)
		for i := 0; i < n; i++ {
			idx := lo + (start+i)%n
			if idx == 0 && !isKubernetesService(owner.Namespace, owner.Name) {
				continue // the kubernetes Service's address (kubernetesservice.go)
			}
			ip := r.ips.addr(idx)
			if used[ip.String()] {
				continue
			}
			created, err := r.claim(ctx, ipKey(ip), owner)
			if errors.Is(err, errTaken) {
				continue
			}
			if err != nil {
				return netip.Addr{}, false, err
			}
			if created {
				return ip, true, nil
			}
		}
		return netip.Addr{}, false, nil
	}
	for _, band := range [][2]int{{band, r.ips.size}, {0, band}} {
		ip, ok, err := try(band[0], band[1])
		if err != nil || ok {
			return ip, err
		}
	}
	return netip.Addr{}, errRangeFull
}

// allocatePort takes a free NodePort for owner.
func (r *ranges) allocatePort(ctx context.Context, owner allocation, avoid map[int]bool) (int, error) {
	used, err := r.taken(ctx, nodePortPrefix)
	if err != nil {
		return 0, err
	}
	start := rand.IntN(r.ports.size)
	for i := 0; i < r.ports.size; i++ {
		p := r.ports.base + (start+i)%r.ports.size
		if used[strconv.Itoa(p)] || avoid[p] {
			continue
		}
		created, err := r.claim(ctx, portKey(p), owner)
		if errors.Is(err, errTaken) {
			continue
		}
		if err != nil {
			return 0, err
		}
		if created {
			return p, nil
		}
	}
	return 0, errRangeFull
}
