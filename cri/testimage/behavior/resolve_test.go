package behavior

import (
	"context"
	"net"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"
)

// TestResolveSearchPath runs `ckimage resolve` against a nameserver that knows
// web.team.svc.cluster.local. (A) and team.svc.cluster.local. (no records): short names go
// through the search list, NXDOMAIN and NODATA go on to the next candidate.
func TestResolveSearchPath(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &mdns.Server{PacketConn: pc, Handler: mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		m := new(mdns.Msg)
		m.SetReply(r)
		switch q := r.Question[0]; {
		case q.Name == "web.team.svc.cluster.local." && q.Qtype == mdns.TypeA:
			rr, _ := mdns.NewRR(q.Name + " 30 IN A 10.96.3.4")
			m.Answer = append(m.Answer, rr)
		case q.Name == "web.team.svc.cluster.local.", q.Name == "team.svc.cluster.local.":
		default:
			m.Rcode = mdns.RcodeNameError
		}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	env := ExecEnv{
		TestImage: true,
		Files:     map[string]string{"/etc/resolv.conf": "nameserver 10.96.0.10\nsearch team.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n"},
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, pc.LocalAddr().String())
		},
	}
	for _, tc := range []struct{ args, want string }{
		{"web", ";rcode NOERROR\n;name web.team.svc.cluster.local.\nA 30 10.96.3.4\n"},
		{"web.team", ";rcode NOERROR\n;name web.team.svc.cluster.local.\nA 30 10.96.3.4\n"},
		{"web.team.svc.cluster.local.", ";rcode NOERROR\n;name web.team.svc.cluster.local.\nA 30 10.96.3.4\n"},
		{"web.team.svc.cluster.local. --type AAAA", ";rcode NOERROR\n;name web.team.svc.cluster.local.\n"},
		{"nope", ";rcode NXDOMAIN\n;name nope.\n"},
		{"team", ";rcode NOERROR\n;name team.svc.cluster.local.\n"},
	} {
		res, err := Exec(context.Background(), append([]string{"/ckimage", "resolve"}, strings.Fields(tc.args)...), env)
		if err != nil || res.ExitCode != 0 || res.Stdout != tc.want {
			t.Errorf("resolve %s: %q (stderr %q, exit %d, %v), want %q", tc.args, res.Stdout, res.Stderr, res.ExitCode, err, tc.want)
		}
	}
	if _, err := Parse([]string{"ckimage", "resolve", "x", "--type", "BOGUS"}); !IsUsage(err) {
		t.Errorf("an unknown type must be a usage error: %v", err)
	}
}
