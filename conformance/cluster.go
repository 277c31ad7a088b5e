package conformance

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// specClient is the client a spec talks to the API with. client-go's default
// of 5 requests a second would serialize concurrent spec clients into a
// convoy in which every read-modify-write loses: not what specs measure. A
// config that sets its own rate is kept as it is.
func specClient(base *rest.Config) (kubernetes.Interface, error) {
	cfg := rest.CopyConfig(base)
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 200, 400
	}
	return kubernetes.NewForConfig(cfg)
}

// specNamespace creates a namespace of the spec's own, ck-<component>-<time>-<n>,
// and deletes it when the spec ends, so specs can share a live cluster.
func specNamespace(ctx context.Context, client kubernetes.Interface, c Cleaner, component string) (string, error) {
	ns := fmt.Sprintf("ck-%s-%s-%05d", component, time.Now().Format("150405"), rand.IntN(100000))
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return "", fmt.Errorf("creating the spec's namespace %s: %w", ns, err)
	}
	c.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.CoreV1().Namespaces().Delete(cctx, ns, metav1.DeleteOptions{})
	})
	return ns, nil
}
