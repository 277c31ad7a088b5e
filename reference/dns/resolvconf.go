package dns

import (
	"bufio"
	"io"
	"net"
	"strings"
)

// Upstreams reads the nameservers of a resolv.conf as host:53 addresses, leaving out the
// addresses in skip (the cluster DNS's own, which would loop).
func Upstreams(r io.Reader, skip ...string) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || f[0] != "nameserver" {
			continue
		}
		ip := net.ParseIP(f[1])
		if ip == nil {
			continue
		}
		skipped := false
		for _, s := range skip {
			if sip := net.ParseIP(s); sip != nil && sip.Equal(ip) {
				skipped = true
			}
		}
		if !skipped {
			out = append(out, net.JoinHostPort(ip.String(), "53"))
		}
	}
	return out, sc.Err()
}
