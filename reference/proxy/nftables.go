package proxy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"reflect"
	"sort"
	"sync"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"

	"github.com/clusterkit/clusterkit/interfaces"
)

// DefaultTable is the nftables table the dataplane owns.
const DefaultTable = "clusterkit-proxy"

// masqMark marks connections that must be masqueraded (NodePort traffic, as kube-proxy does,
// so that replies come back through the node that translated them).
const masqMark = 0x4000

// NFTablesOptions configure an NFTables dataplane.
type NFTablesOptions struct {
	// NetNSPath is the network namespace to program (e.g. /run/netns/NODE); empty means the
	// namespace of the calling process.
	NetNSPath string
	// Table is the name of the ip-family table the dataplane owns (default DefaultTable).
	Table string
	// ServiceCIDRs are the ranges ClusterIPs come from (IPv4). Traffic to them that no
	// programmed Service translated is rejected (TCP reset, else ICMP port unreachable) in
	// the forward and output paths, so nothing addressed to the virtual range ever leaves the
	// node towards a default route.
	ServiceCIDRs []netip.Prefix
	// NoHairpinMasquerade leaves out the masquerade of hairpin connections, so a pod reaching
	// a Service that translates to itself gets no answer: a real bug, kept switchable for the
	// known-bad proxy of reference/knownbad. Never set it otherwise.
	NoHairpinMasquerade bool
}

// NFTables programs virtual services as an nftables table of its own: DNAT from
// ClusterIP:port and NodeIP:NodePort to a random ready endpoint, ClientIP affinity with
// per-endpoint timeout sets, a reject for services without ready endpoints, and masquerade of
// hairpin connections (an endpoint translated to itself) to the node's address on the way out.
// It changes only what differs from the previous Sync, in one netlink batch per Sync.
type NFTables struct {
	opts NFTablesOptions

	mu      sync.Mutex
	conn    *nftables.Conn
	nsFD    int
	table   *nftables.Table
	sets    baseSets
	started bool
	nodeIPs []netip.Addr
	svcs    map[string]*programmed
	pending int // services changed in the batch not yet sent

	// epRefs counts the endpoint chains translating to each address; hairpinIPs are the
	// addresses in the hairpin set (kernel or batch); hairpinDirty the addresses whose count
	// changed since the set was last brought up to date.
	epRefs       map[netip.Addr]int
	hairpinIPs   map[netip.Addr]bool
	hairpinDirty []netip.Addr
}

// batchServices is how many changed services go into one netlink batch: the kernel refuses
// batches larger than the socket's send buffer, and 1,000 services with 10 endpoints do not fit
// in one. Each service's own changes always stay within one batch.
const batchServices = 100

type baseSets struct {
	serviceIPs, nodePorts, noEndpointIPs, noEndpointPorts, nodeIPs *nftables.Set
	// hairpin holds addr . addr for every endpoint address: a connection translated to the
	// endpoint that opened it (source = destination after DNAT) is masqueraded, so the
	// endpoint's answer comes back through the node and is un-translated.
	hairpin *nftables.Set
}

// programmed is what one virtual service looks like in the kernel.
type programmed struct {
	vs      interfaces.VirtualService
	id      string
	svc     *nftables.Chain
	ext     *nftables.Chain
	eps     map[string]*nftables.Chain // endpoint key -> chain
	aff     map[string]*nftables.Set   // endpoint key -> affinity set
	noReady bool
}

// NewNFTables returns a dataplane; it opens nothing until the first Sync.
func NewNFTables(opts NFTablesOptions) *NFTables {
	if opts.Table == "" {
		opts.Table = DefaultTable
	}
	d := &NFTables{opts: opts, nsFD: -1}
	d.reset()
	return d
}

var _ interfaces.ProxyDataplane = (*NFTables)(nil)

func (d *NFTables) connect() error {
	if d.conn != nil {
		return nil
	}
	var opts []nftables.ConnOption
	if d.opts.NetNSPath != "" {
		fd, err := unix.Open(d.opts.NetNSPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("nftables: opening %s: %w", d.opts.NetNSPath, err)
		}
		d.nsFD = fd
		opts = append(opts, nftables.WithNetNSFd(fd))
	}
	opts = append(opts, nftables.AsLasting(), nftables.WithSockOptions(func(c *netlink.Conn) error {
		// Room for the acknowledgements of a full batch.
		if err := c.SetReadBuffer(8 << 20); err != nil {
			return err
		}
		return c.SetWriteBuffer(8 << 20)
	}))
	c, err := nftables.New(opts...)
	if err != nil {
		d.closeFD()
		return fmt.Errorf("nftables: netlink: %w", err)
	}
	d.conn = c
	d.table = &nftables.Table{Name: d.opts.Table, Family: nftables.TableFamilyIPv4}
	return nil
}

func (d *NFTables) closeFD() {
	if d.nsFD >= 0 {
		_ = unix.Close(d.nsFD)
		d.nsFD = -1
	}
}

// Close releases the netlink connection without touching the rules (a restart keeps them).
func (d *NFTables) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var err error
	if d.conn != nil {
		err = d.conn.CloseLasting()
		d.conn = nil
	}
	d.closeFD()
	return err
}

// Cleanup deletes the table and everything in it.
func (d *NFTables) Cleanup(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.connect(); err != nil {
		return err
	}
	if t, err := d.conn.ListTableOfFamily(d.opts.Table, nftables.TableFamilyIPv4); err != nil || t == nil {
		d.reset()
		return nil // nothing to remove
	}
	d.conn.DelTable(d.table)
	err := d.conn.Flush()
	d.reset()
	if err != nil {
		return fmt.Errorf("nftables: deleting table %s: %w", d.opts.Table, err)
	}
	return nil
}

func (d *NFTables) reset() {
	d.started = false
	d.svcs = map[string]*programmed{}
	d.nodeIPs = nil
	d.epRefs = map[netip.Addr]int{}
	d.hairpinIPs = map[netip.Addr]bool{}
	d.hairpinDirty = nil
}

// Sync programs state (see interfaces.ProxyDataplane).
func (d *NFTables) Sync(ctx context.Context, state interfaces.ProxyState) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := d.connect(); err != nil {
		return err
	}
	if !d.started {
		// First Sync of this process: replace whatever an earlier run left, in the same batch
		// (atomic for the packet path; conntrack keeps established connections translated).
		if t, err := d.conn.ListTableOfFamily(d.opts.Table, nftables.TableFamilyIPv4); err == nil && t != nil {
			d.conn.DelTable(d.table)
		}
		if err := d.base(); err != nil {
			return err
		}
	}
	d.pending = 0
	if err := d.apply(state); err != nil {
		_ = d.conn.Flush() // send or drop the half-built batch; the next Sync rebuilds
		d.reset()
		return err
	}
	if err := d.conn.Flush(); err != nil {
		// The kernel rejected the batch: nothing of it applied; rebuild from scratch next time.
		d.reset()
		return fmt.Errorf("nftables: applying batch: %w", err)
	}
	d.started = true
	return nil
}

func concatKey() nftables.SetDatatype {
	t, err := nftables.ConcatSetType(nftables.TypeIPAddr, nftables.TypeInetProto, nftables.TypeInetService)
	if err != nil {
		panic(err) // static types: cannot fail
	}
	return t
}

func addrPairKey() nftables.SetDatatype {
	t, err := nftables.ConcatSetType(nftables.TypeIPAddr, nftables.TypeIPAddr)
	if err != nil {
		panic(err)
	}
	return t
}

// ctStatusDNAT is IPS_DST_NAT of ct status: the connection's destination was translated.
const ctStatusDNAT = 1 << 5

func protoPortKey() nftables.SetDatatype {
	t, err := nftables.ConcatSetType(nftables.TypeInetProto, nftables.TypeInetService)
	if err != nil {
		panic(err)
	}
	return t
}

// base adds the table, its sets and base chains to the batch.
func (d *NFTables) base() error {
	c, t := d.conn, d.table
	c.AddTable(t)
	d.sets = baseSets{
		serviceIPs:      &nftables.Set{Table: t, Name: "service-ips", KeyType: concatKey(), Concatenation: true, IsMap: true, DataType: nftables.TypeVerdict},
		nodePorts:       &nftables.Set{Table: t, Name: "service-nodeports", KeyType: protoPortKey(), Concatenation: true, IsMap: true, DataType: nftables.TypeVerdict},
		noEndpointIPs:   &nftables.Set{Table: t, Name: "no-endpoint-services", KeyType: concatKey(), Concatenation: true},
		noEndpointPorts: &nftables.Set{Table: t, Name: "no-endpoint-nodeports", KeyType: protoPortKey(), Concatenation: true},
		nodeIPs:         &nftables.Set{Table: t, Name: "nodeport-ips", KeyType: nftables.TypeIPAddr},
		hairpin:         &nftables.Set{Table: t, Name: "hairpin-endpoints", KeyType: addrPairKey(), Concatenation: true},
	}
	for _, s := range []*nftables.Set{d.sets.serviceIPs, d.sets.nodePorts, d.sets.noEndpointIPs, d.sets.noEndpointPorts, d.sets.nodeIPs, d.sets.hairpin} {
		if err := c.AddSet(s, nil); err != nil {
			return fmt.Errorf("nftables: set %s: %w", s.Name, err)
		}
	}
	services := c.AddChain(&nftables.Chain{Name: "services", Table: t})
	c.AddRule(&nftables.Rule{Table: t, Chain: services, Exprs: append(matchIPProtoPort(), &expr.Lookup{SourceRegister: 8, SetName: d.sets.serviceIPs.Name, SetID: d.sets.serviceIPs.ID, IsDestRegSet: true, DestRegister: 0})})
	c.AddRule(&nftables.Rule{Table: t, Chain: services, Exprs: append(append(matchNodeIP(d.sets.nodeIPs), matchProtoPort()...),
		&expr.Lookup{SourceRegister: 8, SetName: d.sets.nodePorts.Name, SetID: d.sets.nodePorts.ID, IsDestRegSet: true, DestRegister: 0})})

	accept := nftables.ChainPolicyAccept
	hook := func(name string, typ nftables.ChainType, h *nftables.ChainHook, prio *nftables.ChainPriority) *nftables.Chain {
		return c.AddChain(&nftables.Chain{Name: name, Table: t, Type: typ, Hooknum: h, Priority: prio, Policy: &accept})
	}
	jump := []expr.Any{&expr.Verdict{Kind: expr.VerdictJump, Chain: "services"}}
	c.AddRule(&nftables.Rule{Table: t, Chain: hook("nat-prerouting", nftables.ChainTypeNAT, nftables.ChainHookPrerouting, nftables.ChainPriorityNATDest), Exprs: jump})
	c.AddRule(&nftables.Rule{Table: t, Chain: hook("nat-output", nftables.ChainTypeNAT, nftables.ChainHookOutput, nftables.ChainPriorityNATDest), Exprs: jump})
	post := hook("nat-postrouting", nftables.ChainTypeNAT, nftables.ChainHookPostrouting, nftables.ChainPriorityNATSource)
	// Hairpin: ct status dnat, ip saddr . ip daddr @hairpin-endpoints: masquerade. (One rule
	// and a set rather than a rule per endpoint chain: programming stays one message per
	// endpoint.)
	if !d.opts.NoHairpinMasquerade {
		c.AddRule(&nftables.Rule{Table: t, Chain: post, Exprs: []expr.Any{
			&expr.Ct{Key: expr.CtKeySTATUS, Register: 1},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: binaryutil.NativeEndian.PutUint32(ctStatusDNAT), Xor: binaryutil.NativeEndian.PutUint32(0)},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(0)},
			&expr.Payload{DestRegister: 8, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
			&expr.Payload{DestRegister: 9, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
			&expr.Lookup{SourceRegister: 8, SetName: d.sets.hairpin.Name, SetID: d.sets.hairpin.ID},
			&expr.Masq{},
		}})
	}
	c.AddRule(&nftables.Rule{Table: t, Chain: post, Exprs: []expr.Any{
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: binaryutil.NativeEndian.PutUint32(masqMark), Xor: binaryutil.NativeEndian.PutUint32(0)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(0)},
		&expr.Masq{},
	}})
	filterPrio := nftables.ChainPriorityRef(*nftables.ChainPriorityFilter - 10)
	for _, h := range []struct {
		name string
		hook *nftables.ChainHook
	}{{"filter-forward", nftables.ChainHookForward}, {"filter-output", nftables.ChainHookOutput}} {
		ch := hook(h.name, nftables.ChainTypeFilter, h.hook, filterPrio)
		for _, r := range rejectRules(matchIPProtoPort(), &expr.Lookup{SourceRegister: 8, SetName: d.sets.noEndpointIPs.Name, SetID: d.sets.noEndpointIPs.ID}) {
			c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: r})
		}
		// Runs after DNAT: what is still addressed to the service range matched no Service.
		for _, cidr := range d.opts.ServiceCIDRs {
			if !cidr.Addr().Is4() {
				continue
			}
			for _, r := range rejectRules(matchDaddrPrefix(cidr)) {
				c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: r})
			}
		}
	}
	in := hook("filter-input", nftables.ChainTypeFilter, nftables.ChainHookInput, filterPrio)
	for _, r := range rejectRules(append(matchNodeIP(d.sets.nodeIPs), matchProtoPort()...), &expr.Lookup{SourceRegister: 8, SetName: d.sets.noEndpointPorts.Name, SetID: d.sets.noEndpointPorts.ID}) {
		c.AddRule(&nftables.Rule{Table: t, Chain: in, Exprs: r})
	}
	return nil
}

// rejectRules: TCP gets a reset, anything else an ICMP port unreachable; lookup (optional)
// narrows match.
func rejectRules(match []expr.Any, lookup ...expr.Any) [][]expr.Any {
	cond := append(append([]expr.Any{}, match...), lookup...)
	tcp := append(append([]expr.Any{}, cond...),
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
		&expr.Reject{Type: unix.NFT_REJECT_TCP_RST})
	other := append(append([]expr.Any{}, cond...),
		&expr.Reject{Type: unix.NFT_REJECT_ICMP_UNREACH, Code: 3})
	return [][]expr.Any{tcp, other}
}

// matchDaddrPrefix matches ip daddr in the IPv4 prefix p (register 2, so the reject rules'
// protocol check in register 1 does not clash).
func matchDaddrPrefix(p netip.Prefix) []expr.Any {
	p = p.Masked()
	mask := make([]byte, 4)
	for i := 0; i < p.Bits(); i++ {
		mask[i/8] |= 0x80 >> (i % 8)
	}
	network := p.Addr().As4()
	return []expr.Any{
		&expr.Payload{DestRegister: 2, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Bitwise{SourceRegister: 2, DestRegister: 2, Len: 4, Mask: mask, Xor: []byte{0, 0, 0, 0}},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 2, Data: network[:]},
	}
}

// matchIPProtoPort loads ip daddr . meta l4proto . th dport into registers 8, 9, 10.
func matchIPProtoPort() []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: 8, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 9},
		&expr.Payload{DestRegister: 10, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
	}
}

// matchProtoPort loads meta l4proto . th dport into registers 8, 9.
func matchProtoPort() []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 8},
		&expr.Payload{DestRegister: 9, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
	}
}

func matchNodeIP(s *nftables.Set) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Lookup{SourceRegister: 1, SetName: s.Name, SetID: s.ID},
	}
}

// setMasqMark is meta mark set mark | masqMark: the nat-postrouting chain masquerades the
// connection.
func setMasqMark() []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: binaryutil.NativeEndian.PutUint32(^uint32(masqMark)), Xor: binaryutil.NativeEndian.PutUint32(masqMark)},
		&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: 1},
	}
}

func protoNum(p corev1.Protocol) byte {
	switch p {
	case corev1.ProtocolUDP:
		return unix.IPPROTO_UDP
	case corev1.ProtocolSCTP:
		return unix.IPPROTO_SCTP
	}
	return unix.IPPROTO_TCP
}

func pad4(b []byte) []byte {
	out := make([]byte, (len(b)+3)/4*4)
	copy(out, b)
	return out
}

func ipProtoPortKey(ip netip.Addr, proto corev1.Protocol, port uint16) []byte {
	a := ip.As4()
	k := append([]byte{}, a[:]...)
	k = append(k, pad4([]byte{protoNum(proto)})...)
	return append(k, pad4(binaryutil.BigEndian.PutUint16(port))...)
}

func protoPortKeyBytes(proto corev1.Protocol, port uint16) []byte {
	return append(pad4([]byte{protoNum(proto)}), pad4(binaryutil.BigEndian.PutUint16(port))...)
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:6])
}

func epKey(e interfaces.ProxyEndpoint) string {
	return netip.AddrPortFrom(e.IP, e.Port).String()
}

func readyEndpoints(vs interfaces.VirtualService) []interfaces.ProxyEndpoint {
	var out []interfaces.ProxyEndpoint
	seen := map[string]bool{}
	for _, e := range vs.Endpoints {
		if e.Ready && e.IP.Is4() && !seen[epKey(e)] {
			seen[epKey(e)] = true
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return epKey(out[i]) < epKey(out[j]) })
	return out
}

// sameFrontend reports whether a and b are reached the same way (same map keys).
func sameFrontend(a, b interfaces.VirtualService) bool {
	return a.ClusterIP == b.ClusterIP && a.Port == b.Port && a.Protocol == b.Protocol && a.NodePort == b.NodePort && a.AffinityTimeout == b.AffinityTimeout && a.ExternalLocal == b.ExternalLocal
}

// apply adds to the batch what turns the programmed state into state.
func (d *NFTables) apply(state interfaces.ProxyState) error {
	want := map[string]interfaces.VirtualService{}
	for _, vs := range state.Services {
		if !vs.ClusterIP.Is4() && vs.NodePort == 0 {
			continue
		}
		want[vs.Name] = vs
	}
	// Removed or re-keyed services first, so their keys are free for the new ones.
	names := make([]string, 0, len(d.svcs))
	for n := range d.svcs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := d.svcs[n]
		if vs, ok := want[n]; !ok || !sameFrontend(vs, p.vs) {
			if err := d.remove(p); err != nil {
				return err
			}
			delete(d.svcs, n)
			if err := d.changed(); err != nil {
				return err
			}
		}
	}
	if err := d.syncNodeIPs(state.NodeIPs); err != nil {
		return err
	}
	names = names[:0]
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		vs := want[n]
		p, ok := d.svcs[n]
		if !ok {
			p2, err := d.add(vs)
			if err != nil {
				return err
			}
			d.svcs[n] = p2
			if err := d.changed(); err != nil {
				return err
			}
			continue
		}
		if reflect.DeepEqual(readyEndpoints(p.vs), readyEndpoints(vs)) {
			p.vs = vs
			continue
		}
		if err := d.update(p, vs); err != nil {
			return err
		}
		if err := d.changed(); err != nil {
			return err
		}
	}
	return d.syncHairpin()
}

// changed counts one changed service and sends the batch when it is full.
func (d *NFTables) changed() error {
	d.pending++
	if d.pending < batchServices {
		return nil
	}
	d.pending = 0
	if err := d.syncHairpin(); err != nil {
		return err
	}
	if err := d.conn.Flush(); err != nil {
		return fmt.Errorf("nftables: applying batch: %w", err)
	}
	d.started = true
	return nil
}

func (d *NFTables) syncNodeIPs(ips []netip.Addr) error {
	var v4 []netip.Addr
	for _, ip := range ips {
		if ip.Is4() {
			v4 = append(v4, ip)
		}
	}
	sort.Slice(v4, func(i, j int) bool { return v4[i].Less(v4[j]) })
	if reflect.DeepEqual(v4, d.nodeIPs) && d.started {
		return nil
	}
	elems := func(list []netip.Addr) []nftables.SetElement {
		var out []nftables.SetElement
		for _, ip := range list {
			a := ip.As4()
			out = append(out, nftables.SetElement{Key: a[:]})
		}
		return out
	}
	if d.started && len(d.nodeIPs) > 0 {
		if err := d.conn.SetDeleteElements(d.sets.nodeIPs, elems(d.nodeIPs)); err != nil {
			return err
		}
	}
	if len(v4) > 0 {
		if err := d.conn.SetAddElements(d.sets.nodeIPs, elems(v4)); err != nil {
			return err
		}
	}
	d.nodeIPs = v4
	return nil
}

// add programs a new virtual service.
func (d *NFTables) add(vs interfaces.VirtualService) (*programmed, error) {
	c, t := d.conn, d.table
	p := &programmed{vs: vs, id: shortHash(vs.Name), eps: map[string]*nftables.Chain{}, aff: map[string]*nftables.Set{}}
	p.svc = c.AddChain(&nftables.Chain{Name: "svc-" + p.id, Table: t})
	if err := d.fillService(p, vs); err != nil {
		return nil, err
	}
	if vs.ClusterIP.Is4() {
		if err := c.SetAddElements(d.sets.serviceIPs, []nftables.SetElement{{
			Key: ipProtoPortKey(vs.ClusterIP, vs.Protocol, vs.Port), VerdictData: &expr.Verdict{Kind: expr.VerdictGoto, Chain: p.svc.Name},
		}}); err != nil {
			return nil, err
		}
	}
	if vs.NodePort != 0 {
		p.ext = c.AddChain(&nftables.Chain{Name: "ext-" + p.id, Table: t})
		var exprs []expr.Any
		if !vs.ExternalLocal { // externalTrafficPolicy Local keeps the client's address
			exprs = setMasqMark()
		}
		c.AddRule(&nftables.Rule{Table: t, Chain: p.ext, Exprs: append(exprs,
			&expr.Verdict{Kind: expr.VerdictGoto, Chain: p.svc.Name})})
		if err := c.SetAddElements(d.sets.nodePorts, []nftables.SetElement{{
			Key: protoPortKeyBytes(vs.Protocol, vs.NodePort), VerdictData: &expr.Verdict{Kind: expr.VerdictGoto, Chain: p.ext.Name},
		}}); err != nil {
			return nil, err
		}
	}
	return p, d.setNoEndpoints(p, len(readyEndpoints(vs)) == 0)
}

// setNoEndpoints adds or removes the service's keys from the reject sets.
func (d *NFTables) setNoEndpoints(p *programmed, none bool) error {
	if none == p.noReady {
		return nil
	}
	op := d.conn.SetAddElements
	if !none {
		op = d.conn.SetDeleteElements
	}
	if p.vs.ClusterIP.Is4() {
		if err := op(d.sets.noEndpointIPs, []nftables.SetElement{{Key: ipProtoPortKey(p.vs.ClusterIP, p.vs.Protocol, p.vs.Port)}}); err != nil {
			return err
		}
	}
	if p.vs.NodePort != 0 {
		if err := op(d.sets.noEndpointPorts, []nftables.SetElement{{Key: protoPortKeyBytes(p.vs.Protocol, p.vs.NodePort)}}); err != nil {
			return err
		}
	}
	p.noReady = none
	return nil
}

// fillService adds endpoint chains (and affinity sets) for the ready endpoints of vs that p does
// not have, and the service chain's rules; the service chain must be empty.
func (d *NFTables) fillService(p *programmed, vs interfaces.VirtualService) error {
	c, t := d.conn, d.table
	ready := readyEndpoints(vs)
	var chains []*nftables.Chain
	for _, e := range ready {
		k := epKey(e)
		ch, ok := p.eps[k]
		if !ok {
			eid := shortHash(k)
			ch = c.AddChain(&nftables.Chain{Name: "sep-" + p.id + "-" + eid, Table: t})
			var exprs []expr.Any
			if vs.AffinityTimeout > 0 {
				s := &nftables.Set{Table: t, Name: "aff-" + p.id + "-" + eid, KeyType: nftables.TypeIPAddr, HasTimeout: true, Timeout: vs.AffinityTimeout, Dynamic: true}
				if err := c.AddSet(s, nil); err != nil {
					return err
				}
				p.aff[k] = s
				exprs = append(exprs,
					&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
					&expr.Dynset{SrcRegKey: 1, SetName: s.Name, SetID: s.ID, Operation: uint32(unix.NFT_DYNSET_OP_UPDATE), Timeout: vs.AffinityTimeout})
			}
			a := e.IP.As4()
			exprs = append(exprs,
				&expr.Immediate{Register: 1, Data: a[:]},
				&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(e.Port)},
				&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true})
			c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: exprs})
			p.eps[k] = ch
			d.refEndpoint(e.IP, 1)
		}
		chains = append(chains, ch)
	}
	if vs.AffinityTimeout > 0 {
		for i, e := range ready {
			s := p.aff[epKey(e)]
			c.AddRule(&nftables.Rule{Table: t, Chain: p.svc, Exprs: []expr.Any{
				&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
				&expr.Lookup{SourceRegister: 1, SetName: s.Name, SetID: s.ID},
				&expr.Verdict{Kind: expr.VerdictGoto, Chain: chains[i].Name},
			}})
		}
	}
	switch len(chains) {
	case 0:
	case 1:
		c.AddRule(&nftables.Rule{Table: t, Chain: p.svc, Exprs: []expr.Any{&expr.Verdict{Kind: expr.VerdictGoto, Chain: chains[0].Name}}})
	default:
		m := &nftables.Set{Table: t, Anonymous: true, Constant: true, IsMap: true, KeyType: nftables.TypeInteger, DataType: nftables.TypeVerdict, KeyByteOrder: binaryutil.NativeEndian}
		var elems []nftables.SetElement
		for i, ch := range chains {
			elems = append(elems, nftables.SetElement{Key: binaryutil.NativeEndian.PutUint32(uint32(i)), VerdictData: &expr.Verdict{Kind: expr.VerdictGoto, Chain: ch.Name}})
		}
		if err := c.AddSet(m, elems); err != nil {
			return err
		}
		c.AddRule(&nftables.Rule{Table: t, Chain: p.svc, Exprs: []expr.Any{
			&expr.Numgen{Register: 1, Modulus: uint32(len(chains)), Type: unix.NFT_NG_RANDOM},
			&expr.Lookup{SourceRegister: 1, SetName: m.Name, SetID: m.ID, IsDestRegSet: true, DestRegister: 0},
		}})
	}
	return nil
}

// update reprograms the endpoints of a service whose frontend did not change.
func (d *NFTables) update(p *programmed, vs interfaces.VirtualService) error {
	d.conn.FlushChain(p.svc)
	if err := d.fillService(p, vs); err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, e := range readyEndpoints(vs) {
		keep[epKey(e)] = true
	}
	for k, ch := range p.eps {
		if keep[k] {
			continue
		}
		d.conn.DelChain(ch)
		delete(p.eps, k)
		d.unrefEndpointKey(k)
		if s, ok := p.aff[k]; ok {
			d.conn.DelSet(s)
			delete(p.aff, k)
		}
	}
	p.vs = vs
	return d.setNoEndpoints(p, len(keep) == 0)
}

// remove deletes a service: its map elements, then its chains and sets.
func (d *NFTables) remove(p *programmed) error {
	c := d.conn
	if err := d.setNoEndpoints(p, false); err != nil {
		return err
	}
	if p.vs.ClusterIP.Is4() {
		if err := c.SetDeleteElements(d.sets.serviceIPs, []nftables.SetElement{{Key: ipProtoPortKey(p.vs.ClusterIP, p.vs.Protocol, p.vs.Port)}}); err != nil {
			return err
		}
	}
	if p.vs.NodePort != 0 {
		if err := c.SetDeleteElements(d.sets.nodePorts, []nftables.SetElement{{Key: protoPortKeyBytes(p.vs.Protocol, p.vs.NodePort)}}); err != nil {
			return err
		}
	}
	c.FlushChain(p.svc)
	if p.ext != nil {
		c.DelChain(p.ext)
	}
	c.DelChain(p.svc)
	for k, ch := range p.eps {
		c.DelChain(ch)
		d.unrefEndpointKey(k)
		if s, ok := p.aff[k]; ok {
			c.DelSet(s)
		}
	}
	return nil
}

// refEndpoint counts one more (delta 1) or one fewer (delta -1) endpoint chain translating to ip.
func (d *NFTables) refEndpoint(ip netip.Addr, delta int) {
	n := d.epRefs[ip] + delta
	if n > 0 {
		d.epRefs[ip] = n
	} else {
		delete(d.epRefs, ip)
	}
	d.hairpinDirty = append(d.hairpinDirty, ip)
}

func (d *NFTables) unrefEndpointKey(k string) {
	if ap, err := netip.ParseAddrPort(k); err == nil {
		d.refEndpoint(ap.Addr(), -1)
	}
}

// hairpinChunk bounds the elements of one set-element message (a netlink attribute holds at
// most 64 KiB).
const hairpinChunk = 1000

// syncHairpin adds to the batch the hairpin set's changes since the last call: an endpoint
// address is in the set while some endpoint chain translates to it.
func (d *NFTables) syncHairpin() error {
	var add, del []nftables.SetElement
	for _, ip := range d.hairpinDirty {
		want := d.epRefs[ip] > 0
		if want == d.hairpinIPs[ip] {
			continue
		}
		a := ip.As4()
		el := nftables.SetElement{Key: append(append([]byte{}, a[:]...), a[:]...)}
		if want {
			d.hairpinIPs[ip] = true
			add = append(add, el)
		} else {
			delete(d.hairpinIPs, ip)
			del = append(del, el)
		}
	}
	d.hairpinDirty = d.hairpinDirty[:0]
	for _, op := range []struct {
		f     func(*nftables.Set, []nftables.SetElement) error
		elems []nftables.SetElement
	}{{d.conn.SetDeleteElements, del}, {d.conn.SetAddElements, add}} {
		for len(op.elems) > 0 {
			n := min(len(op.elems), hairpinChunk)
			if err := op.f(d.sets.hairpin, op.elems[:n]); err != nil {
				return fmt.Errorf("nftables: hairpin set: %w", err)
			}
			op.elems = op.elems[n:]
		}
	}
	return nil
}

// TableExists reports whether the dataplane's table is present (tests, cleanup checks).
func (d *NFTables) TableExists() (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.connect(); err != nil {
		return false, err
	}
	t, err := d.conn.ListTableOfFamily(d.opts.Table, nftables.TableFamilyIPv4)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENOENT) {
			return false, nil
		}
		return false, nil
	}
	return t != nil, nil
}

// ChainCount returns how many chains the table holds (tests of incremental updates).
func (d *NFTables) ChainCount() (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.connect(); err != nil {
		return 0, err
	}
	chains, err := d.conn.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, ch := range chains {
		if ch.Table.Name == d.opts.Table {
			n++
		}
	}
	return n, nil
}
