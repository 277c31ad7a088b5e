package rootcacertpublisher_test

import (
	"context"
	"maps"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/clusterkit/clusterkit/reference/controllers"
	"github.com/clusterkit/clusterkit/reference/controllers/inprocess"
	"github.com/clusterkit/clusterkit/reference/controllers/rootcacertpublisher"
)

const testBundle = "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n"

// TestPublishesConfiguredBundle checks that the bundle of controllers.Config.RootCA reaches the
// system namespaces and a new one, and comes back after an edit that drops ca.crt.
func TestPublishesConfiguredBundle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, closeAll, err := inprocess.Start(ctx, inprocess.Options{
		Controllers: []string{rootcacertpublisher.Name},
		Manager:     func(cfg *controllers.Config) { cfg.RootCA = []byte(testBundle) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	client := kubernetes.NewForConfigOrDie(c.Config)
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"default", "kube-system", "kube-public", "team-a"} {
		waitBundle(ctx, t, client, ns)
	}
	cm, err := client.CoreV1().ConfigMaps("team-a").Get(ctx, rootcacertpublisher.ConfigMapName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cm.Annotations[rootcacertpublisher.DescriptionAnnotation] != rootcacertpublisher.Description {
		t.Errorf("annotations: %v", cm.Annotations)
	}
	cm.Data = map[string]string{"other": "x"}
	if _, err := client.CoreV1().ConfigMaps("team-a").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitBundle(ctx, t, client, "team-a")
}

func waitBundle(ctx context.Context, t *testing.T, client kubernetes.Interface, ns string) {
	t.Helper()
	var last any
	for ctx.Err() == nil {
		cm, err := client.CoreV1().ConfigMaps(ns).Get(ctx, rootcacertpublisher.ConfigMapName, metav1.GetOptions{})
		if err == nil && maps.Equal(cm.Data, map[string]string{rootcacertpublisher.DataKey: testBundle}) {
			return
		}
		last = err
		if err == nil {
			last = cm.Data
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("namespace %s: kube-root-ca.crt never held exactly the bundle (last: %v)", ns, last)
}
