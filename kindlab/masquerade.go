package kindlab

import (
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// masqueradeTable is the node namespace's nftables table of masqueradeToGateway.
const masqueradeTable = "clusterkit-lab"

// masqueradeToGateway makes the node masquerade its pods' connections to the lab's gateway
// (the host, where the control plane listens) to the node's own address: the host has no
// routes to the pod subnets (every lab uses the same ones), so without it a pod reaching the
// API server — directly or through the kubernetes Service — gets no answer. Connections
// between pods and nodes are left as they are. It runs in the node's network namespace.
func masqueradeToGateway(podSubnet, gateway string) error {
	pods, err := netip.ParsePrefix(podSubnet)
	if err != nil || !pods.Addr().Is4() {
		return fmt.Errorf("masquerade: pod subnet %q: not an IPv4 prefix", podSubnet)
	}
	gw, err := netip.ParseAddr(gateway)
	if err != nil || !gw.Is4() {
		return fmt.Errorf("masquerade: gateway %q: not an IPv4 address", gateway)
	}
	pods = pods.Masked()
	var m [4]byte
	for i := 0; i < pods.Bits(); i++ {
		m[i/8] |= 0x80 >> (i % 8)
	}
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("masquerade: %w", err)
	}
	t := c.AddTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: masqueradeTable})
	c.FlushTable(t)
	ch := c.AddChain(&nftables.Chain{Name: "postrouting", Table: t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource})
	src, dst := pods.Addr().As4(), gw.As4()
	c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: []expr.Any{
		// ip saddr & mask == pod subnet
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: m[:], Xor: []byte{0, 0, 0, 0}},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: src[:]},
		// ip daddr == gateway
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: dst[:]},
		&expr.Masq{},
	}})
	if err := c.Flush(); err != nil {
		return fmt.Errorf("masquerade: %w", err)
	}
	return nil
}
