package behavior

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	mdns "github.com/miekg/dns"
)

// dnsTypes are the record types `resolve --type` accepts.
var dnsTypes = map[string]uint16{
	"A": mdns.TypeA, "AAAA": mdns.TypeAAAA, "SRV": mdns.TypeSRV, "CNAME": mdns.TypeCNAME,
	"TXT": mdns.TypeTXT, "PTR": mdns.TypePTR, "SOA": mdns.TypeSOA, "NS": mdns.TypeNS,
	"MX": mdns.TypeMX, "ANY": mdns.TypeANY,
}

// stubConfig is what a stub resolver reads of /etc/resolv.conf.
type stubConfig struct {
	nameservers []string // host:port
	search      []string
	ndots       int
}

func parseStubConfig(data string) stubConfig {
	c := stubConfig{ndots: 1}
	for _, line := range strings.Split(data, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") || strings.HasPrefix(f[0], ";") {
			continue
		}
		switch f[0] {
		case "nameserver":
			if len(f) > 1 {
				c.nameservers = append(c.nameservers, net.JoinHostPort(f[1], "53"))
			}
		case "search", "domain":
			c.search = append([]string{}, f[1:]...)
		case "options":
			for _, o := range f[1:] {
				if v, ok := strings.CutPrefix(o, "ndots:"); ok {
					if n, err := strconv.Atoi(v); err == nil && n >= 0 {
						c.ndots = min(n, 15)
					}
				}
			}
		}
	}
	return c
}

// candidates are the absolute names a stub resolver asks for name, in order (glibc's
// res_nsearch): a name with a final dot only as it is; one with at least ndots dots as it
// is, then with each search domain; any other with each search domain, then as it is.
func (c stubConfig) candidates(name string) []string {
	if strings.HasSuffix(name, ".") {
		return []string{name}
	}
	var searched []string
	for _, d := range c.search {
		searched = append(searched, mdns.Fqdn(name+"."+strings.Trim(d, ".")))
	}
	if strings.Count(name, ".") >= c.ndots {
		return append([]string{mdns.Fqdn(name)}, searched...)
	}
	return append(searched, mdns.Fqdn(name))
}

// resolve answers `ckimage resolve`: the first candidate name with records of the type wins;
// NXDOMAIN and NODATA go on to the next candidate, any other rcode ends the search. Without
// records the outcome is the NODATA of a candidate when there was one, else the last answer.
func resolve(ctx context.Context, env ExecEnv, name, qtype string, timeout time.Duration) ExecResult {
	data, err := env.readFile("/etc/resolv.conf")
	if err != nil {
		return ExecResult{Stderr: "resolve: /etc/resolv.conf: " + err.Error() + "\n", ExitCode: 1}
	}
	conf := parseStubConfig(string(data))
	if len(conf.nameservers) == 0 {
		return ExecResult{Stderr: "resolve: no nameserver in /etc/resolv.conf\n", ExitCode: 1}
	}
	var nodata, last *mdns.Msg
	for _, cand := range conf.candidates(name) {
		in, err := exchange(ctx, env.Dial, conf.nameservers, cand, dnsTypes[qtype], timeout)
		if err != nil {
			return ExecResult{Stderr: "resolve: " + err.Error() + "\n", ExitCode: 1}
		}
		last = in
		switch {
		case in.Rcode == mdns.RcodeSuccess && len(in.Answer) > 0:
			return ExecResult{Stdout: formatAnswer(in)}
		case in.Rcode == mdns.RcodeSuccess:
			if nodata == nil {
				nodata = in
			}
		case in.Rcode != mdns.RcodeNameError:
			return ExecResult{Stdout: formatAnswer(in)}
		}
	}
	if nodata != nil {
		return ExecResult{Stdout: formatAnswer(nodata)}
	}
	return ExecResult{Stdout: formatAnswer(last)}
}

// exchange asks the nameservers in turn, over UDP then TCP when the answer is truncated;
// the first answer wins.
func exchange(ctx context.Context, dial dialFunc, servers []string, name string, qtype uint16, timeout time.Duration) (*mdns.Msg, error) {
	m := new(mdns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = true
	var errs []string
	for _, s := range servers {
		in, err := exchangeOne(ctx, dial, "udp", s, m, timeout)
		if err == nil && in.Truncated {
			in, err = exchangeOne(ctx, dial, "tcp", s, m, timeout)
		}
		if err == nil {
			return in, nil
		}
		errs = append(errs, fmt.Sprintf("%s: %v", s, err))
	}
	return nil, fmt.Errorf("no nameserver answered %s: %s", name, strings.Join(errs, "; "))
}

func exchangeOne(ctx context.Context, dial dialFunc, network, server string, m *mdns.Msg, timeout time.Duration) (*mdns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	conn, err := dial(ctx, network, server)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	c := &mdns.Client{Net: network, Timeout: timeout}
	in, _, err := c.ExchangeWithConnContext(ctx, m, &mdns.Conn{Conn: conn})
	return in, err
}

// formatAnswer is resolve's output: ";rcode RCODE", ";name NAME", then "TYPE TTL DATA" per
// answer record.
func formatAnswer(in *mdns.Msg) string {
	var b strings.Builder
	fmt.Fprintf(&b, ";rcode %s\n", mdns.RcodeToString[in.Rcode])
	if len(in.Question) > 0 {
		fmt.Fprintf(&b, ";name %s\n", in.Question[0].Name)
	}
	for _, rr := range in.Answer {
		f := strings.Fields(rr.String())
		if len(f) < 4 {
			continue
		}
		fmt.Fprintf(&b, "%s %d %s\n", mdns.TypeToString[rr.Header().Rrtype], rr.Header().Ttl, strings.Join(f[4:], " "))
	}
	return b.String()
}
