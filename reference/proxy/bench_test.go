package proxy_test

import (
	"context"
	"fmt"
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/proxy"
	"github.com/clusterkit/clusterkit/reference/proxy/netlab"
)

// benchState is services × endpoints virtual services (ClusterIP + NodePort) with made-up
// endpoint addresses: nothing is sent, only programmed.
func benchState(services, endpoints int) interfaces.ProxyState {
	st := interfaces.ProxyState{NodeIPs: []netip.Addr{netip.MustParseAddr("10.240.0.1")}}
	for i := 0; i < services; i++ {
		vs := interfaces.VirtualService{
			Name:      fmt.Sprintf("bench/svc-%04d:web", i),
			ClusterIP: netip.AddrFrom4([4]byte{10, 96, byte(i >> 8), byte(i)}),
			Port:      80, Protocol: corev1.ProtocolTCP, NodePort: uint16(30000 + i),
		}
		for j := 0; j < endpoints; j++ {
			vs.Endpoints = append(vs.Endpoints, interfaces.ProxyEndpoint{
				IP: netip.AddrFrom4([4]byte{10, 1, byte(i >> 4), byte((i&15)<<4 | j)}), Port: 8080, Ready: true, Serving: true,
			})
		}
		st.Services = append(st.Services, vs)
	}
	return st
}

func benchLab(b *testing.B) string {
	b.Helper()
	if why := netlab.Supported(); why != "" {
		b.Skip(why)
	}
	l, err := netlab.New(context.Background(), "", "")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = l.Close() })
	return l.NSPath()
}

// BenchmarkNFTablesProgram1000x10 programs 1,000 Services × 10 endpoints into an empty node.
func BenchmarkNFTablesProgram1000x10(b *testing.B) {
	ns := benchLab(b)
	st := benchState(1000, 10)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		d := proxy.NewNFTables(proxy.NFTablesOptions{NetNSPath: ns})
		if err := d.Sync(ctx, st); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := d.Cleanup(ctx); err != nil {
			b.Fatal(err)
		}
		_ = d.Close()
		b.StartTimer()
	}
}

// BenchmarkNFTablesOneEndpointChange1000x10 applies one endpoint change (one endpoint of one
// service turns not ready, or back) to a node holding 1,000 Services × 10 endpoints.
func BenchmarkNFTablesOneEndpointChange1000x10(b *testing.B) {
	ns := benchLab(b)
	st := benchState(1000, 10)
	ctx := context.Background()
	d := proxy.NewNFTables(proxy.NFTablesOptions{NetNSPath: ns})
	b.Cleanup(func() { _ = d.Cleanup(ctx); _ = d.Close() })
	if err := d.Sync(ctx, st); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		svc := &st.Services[i%len(st.Services)]
		svc.Endpoints[3].Ready = !svc.Endpoints[3].Ready
		if err := d.Sync(ctx, st); err != nil {
			b.Fatal(err)
		}
	}
}
