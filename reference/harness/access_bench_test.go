package harness_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/harness"
)

// BenchmarkCreateAccess measures ConfigMap creates against the open in-process server and the
// closed one (TLS, client-certificate authentication, RBAC and admission), on the memory store
// so that only the API server's cost shows. With -count N the two alternate.
//
//	go test -run '^$' -bench CreateAccess -benchtime 3000x -count 3 ./reference/harness
func BenchmarkCreateAccess(b *testing.B) {
	for _, tc := range []struct {
		name    string
		connect func(ctx context.Context, c conformance.Cleaner) (*rest.Config, error)
	}{
		{"open", func(ctx context.Context, c conformance.Cleaner) (*rest.Config, error) {
			s, err := harness.InProcessAPI(harness.MemoryStore()).Connect(ctx, c)
			return s.Config, err
		}},
		{"closed", func(ctx context.Context, c conformance.Cleaner) (*rest.Config, error) {
			s, err := harness.InProcessAuth(harness.MemoryStore()).Connect(ctx, c)
			return s.Admin, err
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			cfg, err := tc.connect(ctx, b)
			if err != nil {
				b.Fatal(err)
			}
			cfg = rest.CopyConfig(cfg)
			cfg.QPS = -1
			client, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				b.Fatal(err)
			}
			cms := client.CoreV1().ConfigMaps("default")
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				start := time.Now()
				_, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%d", i)}}, metav1.CreateOptions{})
				lat = append(lat, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}
