package apiserver_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/store/memory"
)

// BenchmarkCreateCustomResource measures creates of a custom resource whose CRD has a
// structural schema with a default and a bound (validation, pruning, defaulting, managed
// fields) side by side with ConfigMap creates, on one server over the memory store, the two
// kinds interleaved round by round so that both see the same machine:
//
//	go test -run '^$' -bench CreateCustomResource -benchtime 2000x ./reference/apiserver
func BenchmarkCreateCustomResource(b *testing.B) {
	ctx := context.Background()
	store := memory.New()
	b.Cleanup(func() { _ = store.Close() })
	srv, err := apiserver.New(apiserver.Config{Store: store})
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Bootstrap(ctx); err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	b.Cleanup(ts.Close)
	cfg := &rest.Config{Host: ts.URL, QPS: -1}
	ax := apiextensionsclient.NewForConfigOrDie(cfg)
	if _, err := ax.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, widgetCRD(), metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		crd, err := ax.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, widgetCRD().Name, metav1.GetOptions{})
		if err == nil && established(crd) {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the CRD did not become established")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cs := kubernetes.NewForConfigOrDie(cfg)
	dyn := dynamic.NewForConfigOrDie(cfg)
	widgets := dyn.Resource(widgetGVR).Namespace("default")
	kinds := []struct {
		name   string
		create func(i int) error
	}{
		{"configmap", func(i int) error {
			_, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%d", i)},
				Data:       map[string]string{"replicas": "3", "selector": "app=web"},
			}, metav1.CreateOptions{})
			return err
		}},
		{"custom-resource-with-schema", func(i int) error {
			u := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "example.clusterkit.io/v1", "kind": "Widget",
				"metadata": map[string]any{"name": fmt.Sprintf("w-%d", i)},
				"spec":     map[string]any{"replicas": int64(3), "selector": "app=web"},
			}}
			_, err := widgets.Create(ctx, u, metav1.CreateOptions{})
			return err
		}},
	}
	const rounds = 4
	next := 0 // every object gets a new name, whatever b.N each run has
	for r := 0; r < rounds; r++ {
		for _, k := range kinds {
			b.Run(fmt.Sprintf("%s/round-%d", k.name, r), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					next++
					if err := k.create(next); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func established(crd *apiextensionsv1.CustomResourceDefinition) bool {
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
			return true
		}
	}
	return false
}
