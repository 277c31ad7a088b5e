package apiserver_test

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
)

// TestAPIServiceManagedFields: APIServices are typed by kube-aggregator's schema, so a write
// records which manager owns which fields (the schema client-go carries does not know the
// kind; without it the field manager drops managedFields).
func TestAPIServiceManagedFields(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	c := aggregator.NewForConfigOrDie(ts.config)
	svc := &apiregistrationv1.APIService{
		ObjectMeta: metav1.ObjectMeta{Name: "v1alpha1.example.com"},
		Spec: apiregistrationv1.APIServiceSpec{
			Group: "example.com", Version: "v1alpha1", GroupPriorityMinimum: 100, VersionPriority: 10,
			Service:               &apiregistrationv1.ServiceReference{Namespace: "default", Name: "ext"},
			InsecureSkipTLSVerify: true,
		},
	}
	got, err := c.ApiregistrationV1().APIServices().Create(ctx, svc, metav1.CreateOptions{FieldManager: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, m := range got.ManagedFields {
		if m.Manager == "tester" && m.Operation == metav1.ManagedFieldsOperationUpdate && m.FieldsV1 != nil &&
			strings.Contains(string(m.FieldsV1.Raw), `"f:groupPriorityMinimum"`) {
			found = true
		}
	}
	if !found {
		t.Fatalf("managedFields of a created APIService lack the writer's spec fields: %+v", got.ManagedFields)
	}
}
