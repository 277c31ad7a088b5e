package conformance

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

// PodDNS: the DNS specs ask their questions from a pod with dnsPolicy ClusterFirst, whose
// /etc/resolv.conf the kubelet wrote (nameserver, search list, ndots), so the specs of short
// names and the search path can run (DNSHarness.FromPod).
const PodDNS Capability = "PodDNS"

// DNSRecord is one record of an answer section: its type ("A", "SRV", "CNAME", ...), TTL in
// seconds, and data as DNS presentation format writes it after the type ("10.96.0.1",
// "0 100 80 web.ns.svc.cluster.local.", "target.example.").
type DNSRecord struct {
	Type string
	TTL  uint32
	Data string
}

// DNSAnswer is the outcome of one question.
type DNSAnswer struct {
	// Rcode is the response code by name: NOERROR, NXDOMAIN, SERVFAIL, REFUSED, ...
	Rcode string
	// Name is the absolute name that was answered (the last one asked through a search list).
	Name string
	// Records is the answer section.
	Records []DNSRecord
}

// Data returns the data of the answer's records of type t, sorted.
func (a DNSAnswer) Data(t string) []string {
	var out []string
	for _, r := range a.Records {
		if r.Type == t {
			out = append(out, r.Data)
		}
	}
	slices.Sort(out)
	return out
}

// MaxTTL is the largest TTL of the answer's records (0 without records).
func (a DNSAnswer) MaxTTL() time.Duration {
	var m uint32
	for _, r := range a.Records {
		m = max(m, r.TTL)
	}
	return time.Duration(m) * time.Second
}

// String is the answer as one line, for failure messages.
func (a DNSAnswer) String() string {
	var rs []string
	for _, r := range a.Records {
		rs = append(rs, r.Type+" "+r.Data)
	}
	return fmt.Sprintf("%s %s [%s]", a.Rcode, a.Name, strings.Join(rs, ", "))
}

// DNSResolver asks the cluster DNS under test.
type DNSResolver interface {
	// Lookup asks one question of type qtype ("A", "SRV", ...) for name. A name that ends
	// with a dot is asked as it is; another goes through the search list of a pod with
	// dnsPolicy ClusterFirst, which only a resolver running in a pod has (PodDNS). It
	// returns the answer whatever its rcode, and an error only when no answer came.
	Lookup(ctx context.Context, name, qtype string) (DNSAnswer, error)
}

// DNSUnderTest is a cluster whose DNS the specs query.
type DNSUnderTest struct {
	// Config reaches the cluster's API server: the specs create the Services, EndpointSlices
	// and (FromPod) the client pod the DNS must answer for.
	Config *rest.Config
	// Domain is the cluster domain (default cluster.local).
	Domain string
	// Resolver asks the DNS server directly; it may be nil when the harness runs the
	// questions from a pod (DNSHarness.FromPod), and is not used then.
	Resolver DNSResolver
	// Node, when set, is the node the client pod is bound to (spec.nodeName: no scheduler
	// needed); empty lets the cluster's scheduler place it (FromPod only).
	Node string
}

// DNSHarness plugs a cluster DNS into the DNS specs. The specs state the Kubernetes DNS
// schema (https://github.com/kubernetes/dns/blob/master/docs/specification.md): they create
// Services (and for headless Services their EndpointSlices, as for a Service without a
// selector, so no controller and no kubelet is needed for them) and ask the DNS about them.
type DNSHarness struct {
	// Name of the implementation, for reports.
	Name string
	// Connect returns the cluster a spec runs against; each spec works in namespaces of its
	// own, so one cluster may serve every spec.
	Connect func(ctx context.Context, c Cleaner) (*DNSUnderTest, error)
	// FromPod: the specs ask from a pod of TestImage (dnsPolicy ClusterFirst) they run in
	// their namespace, through pods/exec of `ckimage resolve`: black box against any cluster
	// whose nodes have the test image, with a scheduler and kubelets. It declares PodDNS.
	FromPod bool
	// TestImage is the test image's reference (default DefaultTestImage).
	TestImage string
	// Focus, when not empty, runs only the specs with these IDs.
	Focus []string
	// SpecTimeout bounds each spec; 0 means three minutes.
	SpecTimeout time.Duration
	// ConvergeTimeout is how long a spec waits for the DNS to answer a change of the API
	// (beside the TTL of an answer it saw before the change); 0 means 45 seconds, enough
	// for kubeadm's CoreDNS with its 30-second cache.
	ConvergeTimeout time.Duration
	// PodTimeout is how long a spec waits for its client pod to run; 0 means two minutes.
	PodTimeout time.Duration
}

// dnsEnv is what a DNS spec works with.
type dnsEnv struct {
	client   kubernetes.Interface
	cleaner  Cleaner
	ns       string
	domain   string
	resolver DNSResolver
	// podIP is the client pod's address ("" without FromPod).
	podIP    string
	converge time.Duration
}

func (h DNSHarness) suite() suite[*dnsEnv] {
	timeout := h.SpecTimeout
	if timeout == 0 {
		timeout = 3 * time.Minute
	}
	specs := dnsSpecs()
	if len(h.Focus) > 0 {
		specs = slices.DeleteFunc(specs, func(s spec[*dnsEnv]) bool { return !slices.Contains(h.Focus, s.ID) })
	}
	name := h.Name
	if name == "" {
		name = "cluster DNS"
	}
	return suite[*dnsEnv]{
		component: "dns",
		impl:      name,
		specs:     specs,
		timeout:   timeout,
		missing: func(c Capability) string {
			if c == PodDNS {
				if h.FromPod {
					return ""
				}
				return fmt.Sprintf("DNS harness %q asks the server directly, not from a pod with the kubelet's resolv.conf (DNSHarness.FromPod is false)", name)
			}
			return fmt.Sprintf("the DNS harness has no capability %s", c)
		},
		setup: func(ctx context.Context, c Cleaner) (*dnsEnv, error) {
			if h.Connect == nil {
				return nil, fmt.Errorf("DNSHarness.Connect is nil")
			}
			u, err := h.Connect(ctx, c)
			if err != nil {
				return nil, err
			}
			client, err := specClient(u.Config)
			if err != nil {
				return nil, err
			}
			ns, err := specNamespace(ctx, client, c, "dns")
			if err != nil {
				return nil, err
			}
			e := &dnsEnv{client: client, cleaner: c, ns: ns, domain: strings.Trim(u.Domain, "."),
				resolver: u.Resolver, converge: h.ConvergeTimeout}
			if e.domain == "" {
				e.domain = "cluster.local"
			}
			if e.converge == 0 {
				e.converge = 45 * time.Second
			}
			if h.FromPod {
				image := h.TestImage
				if image == "" {
					image = DefaultTestImage
				}
				wait := h.PodTimeout
				if wait == 0 {
					wait = 2 * time.Minute
				}
				r, ip, err := startPodResolver(ctx, u.Config, client, c, ns, u.Node, image, wait)
				if err != nil {
					return nil, err
				}
				e.resolver, e.podIP = r, ip
			}
			if e.resolver == nil {
				return nil, fmt.Errorf("DNS harness %q gave no resolver and does not ask from a pod", name)
			}
			return e, nil
		},
	}
}

// RunDNS runs every DNS spec against the harness as subtests of t.
func RunDNS(t *testing.T, h DNSHarness) {
	t.Helper()
	h.suite().runTests(t)
}

// DescribeDNS registers the DNS specs in the caller's Ginkgo suite, under the label "dns".
func DescribeDNS(h DNSHarness) bool {
	return h.suite().describe()
}

// CheckDNS runs every DNS spec and returns the results without failing.
func CheckDNS(ctx context.Context, h DNSHarness) Results {
	return h.suite().check(ctx)
}

// dnsClientPod is the name of the pod the specs ask from (FromPod).
const dnsClientPod = "dns-client"

// podResolver asks from a running pod of the test image through pods/exec.
type podResolver struct {
	cfg    *rest.Config
	client kubernetes.Interface
	ns     string
}

// startPodResolver runs the client pod (dnsPolicy ClusterFirst, on node, or where the
// scheduler places it) and waits until it runs; it returns the resolver and the pod's IP.
func startPodResolver(ctx context.Context, cfg *rest.Config, client kubernetes.Interface, c Cleaner, ns, node, image string, wait time.Duration) (*podResolver, string, error) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: dnsClientPod},
		Spec: corev1.PodSpec{
			NodeName:                      node,
			DNSPolicy:                     corev1.DNSClusterFirst,
			TerminationGracePeriodSeconds: ptr.To(int64(0)),
			Containers: []corev1.Container{{
				Name: "c", Image: image, ImagePullPolicy: corev1.PullIfNotPresent,
				Command: []string{"/ckimage"}, Args: []string{"pause"},
			}},
		},
	}
	if _, err := client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return nil, "", fmt.Errorf("creating the DNS client pod: %w", err)
	}
	c.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.CoreV1().Pods(ns).Delete(cctx, dnsClientPod, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))})
	})
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var last *corev1.Pod
	for {
		p, err := client.CoreV1().Pods(ns).Get(wctx, dnsClientPod, metav1.GetOptions{})
		if err == nil {
			last = p
			if p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "" {
				return &podResolver{cfg: cfg, client: client, ns: ns}, p.Status.PodIP, nil
			}
		}
		select {
		case <-wctx.Done():
			phase := "not found"
			if last != nil {
				phase = fmt.Sprintf("phase %s, conditions %v, container statuses %v", last.Status.Phase, last.Status.Conditions, last.Status.ContainerStatuses)
			}
			return nil, "", fmt.Errorf("the DNS client pod %s/%s did not run within %s (%s): %w", ns, dnsClientPod, wait, phase, wctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Lookup runs `ckimage resolve NAME --type QTYPE` in the client pod.
func (r *podResolver) Lookup(ctx context.Context, name, qtype string) (DNSAnswer, error) {
	stdout, stderr, code, err := podExec(ctx, r.cfg, r.client, r.ns, dnsClientPod, "c", "kubectl", nil,
		"/ckimage", "resolve", name, "--type", qtype, "--timeout", "3s")
	if err != nil {
		return DNSAnswer{}, fmt.Errorf("exec ckimage resolve %s in %s/%s: %w", name, r.ns, dnsClientPod, err)
	}
	if code != 0 {
		return DNSAnswer{}, fmt.Errorf("ckimage resolve %s %s in %s/%s exited %d: %s", name, qtype, r.ns, dnsClientPod, code, strings.TrimSpace(stderr))
	}
	return ParseResolveOutput(stdout)
}

// ParseResolveOutput reads what `ckimage resolve` prints: ";rcode RCODE", ";name NAME", then
// "TYPE TTL DATA" per answer record.
func ParseResolveOutput(out string) (DNSAnswer, error) {
	var a DNSAnswer
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case strings.HasPrefix(line, ";rcode "):
			a.Rcode = strings.TrimPrefix(line, ";rcode ")
		case strings.HasPrefix(line, ";name "):
			a.Name = strings.TrimPrefix(line, ";name ")
		case strings.HasPrefix(line, ";"):
		default:
			f := strings.SplitN(line, " ", 3)
			if len(f) < 3 {
				return a, fmt.Errorf("record line %q of the resolver's output is not TYPE TTL DATA", line)
			}
			ttl, err := strconv.ParseUint(f[1], 10, 32)
			if err != nil {
				return a, fmt.Errorf("record line %q of the resolver's output: TTL: %w", line, err)
			}
			a.Records = append(a.Records, DNSRecord{Type: f[0], TTL: uint32(ttl), Data: f[2]})
		}
	}
	if a.Rcode == "" {
		return a, fmt.Errorf("no ;rcode line in the resolver's output %q", out)
	}
	return a, nil
}
