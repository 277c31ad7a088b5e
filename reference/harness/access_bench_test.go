package harness_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/harness"
	"github.com/clusterkit/clusterkit/reference/pki"
	"github.com/clusterkit/clusterkit/reference/store/memory"
)

// accessLine is one way of reaching an in-process server, measured by BenchmarkCreateAccess.
type accessLine struct {
	name    string
	connect func(ctx context.Context, c conformance.Cleaner) (*rest.Config, error)
}

// accessLines are the servers BenchmarkCreateAccess compares:
//
//   - open-http: the open in-process server over plain HTTP/1.1 (keep-alive),
//   - open-tls: the same open server over HTTPS (HTTP/2 on one connection, the client
//     presenting its certificate, which nobody verifies) — what TLS itself costs,
//   - closed: the closed server (TLS, client-certificate authentication, authorization,
//     RBAC's and Pod Security's admission) as kubernetes-admin (system:masters: RBAC's rules
//     are not consulted),
//   - closed-sa: the closed server as a ServiceAccount with a TokenRequest token, allowed by
//     a RoleBinding to the edit ClusterRole — a pod's client: token authentication (a
//     signature and the bound objects' lookup) and RBAC's rules on every request,
//   - admitted-http: the closed server's composition (its admission chain, encryption,
//     informers and controllers) with TLS, authentication and authorization off, over plain
//     HTTP/1.1 — closed-sa ÷ admitted-http is what TLS + authentication + RBAC cost together
//     (issue 13's "on vs off"),
//   - admitted-tls: the same with TLS on — closed-sa ÷ admitted-tls is what authentication
//     and RBAC alone cost.
func accessLines() []accessLine {
	return []accessLine{
		{"open-http", func(ctx context.Context, c conformance.Cleaner) (*rest.Config, error) {
			s, err := harness.InProcessAPI(harness.MemoryStore()).Connect(ctx, c)
			return s.Config, err
		}},
		{"open-tls", startOpenTLS},
		{"closed", func(ctx context.Context, c conformance.Cleaner) (*rest.Config, error) {
			s, err := harness.InProcessAuth(harness.MemoryStore()).Connect(ctx, c)
			return s.Admin, err
		}},
		{"closed-sa", startClosedServiceAccount},
		{"admitted-http", func(ctx context.Context, c conformance.Cleaner) (*rest.Config, error) {
			s, err := harness.ModifiedAuth("admitted-http", harness.MemoryStore(), func(cfg *apiserver.Config) {
				cfg.Access, cfg.TLS = apiserver.Access{}, nil
			}).Connect(ctx, c)
			return s.Admin, err
		}},
		{"admitted-tls", func(ctx context.Context, c conformance.Cleaner) (*rest.Config, error) {
			s, err := harness.ModifiedAuth("admitted-tls", harness.MemoryStore(), func(cfg *apiserver.Config) {
				cfg.Access = apiserver.Access{}
			}).Connect(ctx, c)
			return s.Admin, err
		}},
	}
}

// startClosedServiceAccount starts a closed server and returns the configuration of
// ServiceAccount default/bench, bound to the edit ClusterRole in default, once RBAC lets it
// create ConfigMaps.
func startClosedServiceAccount(ctx context.Context, c conformance.Cleaner) (*rest.Config, error) {
	s, err := harness.InProcessAuth(harness.MemoryStore()).Connect(ctx, c)
	if err != nil {
		return nil, err
	}
	admin, err := kubernetes.NewForConfig(s.Admin)
	if err != nil {
		return nil, err
	}
	sa, err := admin.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "bench"}}, metav1.CreateOptions{})
	if err != nil {
		return nil, err
	}
	_, err = admin.RbacV1().RoleBindings("default").Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "bench-edit"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "edit"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: "default", Name: sa.Name}},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, err
	}
	tr, err := admin.CoreV1().ServiceAccounts("default").CreateToken(ctx, sa.Name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		return nil, err
	}
	cfg := rest.AnonymousClientConfig(s.Admin)
	cfg.BearerToken = tr.Status.Token
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := client.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
		if err == nil {
			return cfg, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the ServiceAccount never got its RoleBinding's rights: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// BenchmarkCreateAccess measures ConfigMap creates against the accessLines side by side, all
// on the memory store so that only the API server's cost shows, all with client-go's default
// content type. The "interleaved" run sends each iteration's create to every line in turn, so
// that the lines share the machine's load, and reports each line's mean (µs/op), p50 and p99
// and the ratios closed/open-tls and closed-sa/open-tls (what authentication and authorization
// cost) and closed/open-http (that plus TLS); ns/op is then the sum of all lines. The lines
// alone are there to profile one of them (-bench 'CreateAccess/closed$' -cpuprofile ...).
//
//	go test -run '^$' -bench 'CreateAccess/interleaved' -benchtime 2000x -count 3 ./reference/harness
func BenchmarkCreateAccess(b *testing.B) {
	lines := accessLines()
	b.Run("interleaved", func(b *testing.B) {
		creates := make([]func(i int) error, len(lines))
		lat := make([][]time.Duration, len(lines))
		for l, line := range lines {
			creates[l] = connectCreates(b, line)
			lat[l] = make([]time.Duration, 0, b.N)
		}
		b.ResetTimer()
		for i := range b.N {
			for k := range lines {
				// Each iteration starts with the next line, so that every line follows every
				// other equally often: none inherits more of another server's leftover work
				// (its watchers, GC) than the others.
				l := (i + k) % len(lines)
				start := time.Now()
				err := creates[l](i)
				lat[l] = append(lat[l], time.Since(start))
				if err != nil {
					b.Fatalf("%s: %v", lines[l].name, err)
				}
			}
		}
		b.StopTimer()
		mean := make(map[string]float64, len(lines))
		p50s := make(map[string]float64, len(lines))
		p99 := make(map[string]float64, len(lines))
		for l, line := range lines {
			var sum time.Duration
			for _, d := range lat[l] {
				sum += d
			}
			mean[line.name] = float64(sum.Microseconds()) / float64(b.N)
			p50, p := percentiles(lat[l])
			p50s[line.name], p99[line.name] = p50, p
			b.ReportMetric(mean[line.name], line.name+"-µs/op")
			b.ReportMetric(p50, line.name+"-p50-µs")
			b.ReportMetric(p, line.name+"-p99-µs")
		}
		for _, r := range [][2]string{
			{"closed", "open-tls"}, {"closed-sa", "open-tls"},
			{"closed-sa", "admitted-http"}, {"closed-sa", "admitted-tls"}, {"closed", "admitted-tls"},
		} {
			b.ReportMetric(mean[r[0]]/mean[r[1]], r[0]+"/"+r[1])
			b.ReportMetric(p50s[r[0]]/p50s[r[1]], "p50-"+r[0]+"/"+r[1])
			b.ReportMetric(p99[r[0]]/p99[r[1]], "p99-"+r[0]+"/"+r[1])
		}
	})
	for _, line := range lines {
		b.Run(line.name, func(b *testing.B) {
			create := connectCreates(b, line)
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				start := time.Now()
				err := create(i)
				lat = append(lat, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			p50, p99 := percentiles(lat)
			b.ReportMetric(p50, "p50-µs")
			b.ReportMetric(p99, "p99-µs")
		})
	}
}

// connectCreates starts line's server and returns a function creating ConfigMap cm-I in it.
func connectCreates(b *testing.B, line accessLine) func(i int) error {
	b.Helper()
	ctx := context.Background()
	cfg, err := line.connect(ctx, b)
	if err != nil {
		b.Fatalf("%s: %v", line.name, err)
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS = -1
	cfg.ContentType, cfg.AcceptContentTypes = "", ""
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	cms := client.CoreV1().ConfigMaps("default")
	return func(i int) error {
		_, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%d", i)}}, metav1.CreateOptions{})
		return err
	}
}

// percentiles returns the median and the 99th percentile of lat in µs (lat is sorted).
func percentiles(lat []time.Duration) (p50, p99 float64) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return float64(lat[len(lat)/2].Microseconds()), float64(lat[len(lat)*99/100].Microseconds())
}

// startOpenTLS serves the open reference API server (no Access) over HTTPS with a fresh PKI,
// and returns kubernetes-admin's client configuration for it.
func startOpenTLS(ctx context.Context, c conformance.Cleaner) (*rest.Config, error) {
	dir, err := os.MkdirTemp("", "clusterkit-bench-")
	if err != nil {
		return nil, err
	}
	c.Cleanup(func() { _ = os.RemoveAll(dir) })
	bundle, err := pki.Ensure(filepath.Join(dir, "pki"), pki.Options{})
	if err != nil {
		return nil, err
	}
	tlsConfig, err := bundle.ServingTLSConfig()
	if err != nil {
		return nil, err
	}
	srv, err := apiserver.New(apiserver.Config{Store: memory.New(), TLS: tlsConfig})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	serveCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(serveCtx, ln) }()
	c.Cleanup(func() {
		stop()
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(os.Stderr, "apiserver stopped with: %v\n", err)
		}
	})
	return bundle.RESTConfig("https://"+ln.Addr().String(), bundle.Admin), nil
}
