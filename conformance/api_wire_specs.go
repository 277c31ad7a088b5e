package conformance

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/onsi/gomega"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const srcNegotiation = "Kubernetes API concepts: receiving resources as Tables, alternate representations (kubernetes.io/docs/reference/using-api/api-concepts)"

// apiWireSpecs are the content-negotiation behaviours of the API.
func apiWireSpecs() []spec[*apiEnv] {
	return []spec[*apiEnv]{
		{api("api.wire.table-not-acceptable", "a request for a Table from a resource that has no Table form (a SelfSubjectAccessReview) MUST fail with 406 NotAcceptable", srcNegotiation), specTableNotAcceptable},
		{api("api.wire.unknown-media-type", "a create whose Accept header names only media types the server cannot produce MUST fail with 406 NotAcceptable and store nothing", srcNegotiation), specUnknownMediaType},
		{Behavior{ID: "api.list.compacted-continue", Component: "api", Source: srcAPIConcepts, Needs: []Capability{Compaction},
			Must: "continuing a chunked list after its resourceVersion was compacted MUST fail with 410 carrying a continue token, and that token MUST list the rest from the latest state, starting after the last item already returned"}, specAPIListCompactedContinue},
		{api("api.list.remaining-item-count", "a page of an unfiltered list with a continue token MUST carry remainingItemCount (the items after it), and the last page MUST carry none", srcAPIConcepts), specRemainingItemCount},
		{api("api.wire.table", "a list requested as a meta.k8s.io/v1 Table MUST answer a Table whose first column is Name, with one row per object and one cell per column", srcNegotiation), specTableList},
	}
}

func specTableNotAcceptable(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	sar := &authorizationv1.SelfSubjectAccessReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "authorization.k8s.io/v1", Kind: "SelfSubjectAccessReview"},
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: "/", Verb: "get"},
		},
	}
	table := &metav1.Table{}
	err := e.client.AuthorizationV1().RESTClient().Post().Resource("selfsubjectaccessreviews").
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").Body(sar).Do(ctx).Into(table)
	g.Expect(err).To(gomega.HaveOccurred(), "a Table of a SelfSubjectAccessReview must be refused")
	status, isStatus := err.(apierrors.APIStatus)
	g.Expect(isStatus).To(gomega.BeTrue(), "expected a Status error, got %v", err)
	g.Expect(status.Status().Code).To(gomega.Equal(int32(http.StatusNotAcceptable)), "expected 406, got %v", err)
}

func specUnknownMediaType(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	body := []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"xml-only"},"data":{"a":"b"}}`)
	err := e.client.CoreV1().RESTClient().Post().Namespace(e.ns).Resource("configmaps").
		SetHeader("Content-Type", "application/json").SetHeader("Accept", "application/xml").Body(body).Do(ctx).Error()
	g.Expect(err).To(gomega.HaveOccurred(), "a create that accepts only application/xml must be refused")
	status, isStatus := err.(apierrors.APIStatus)
	g.Expect(isStatus).To(gomega.BeTrue(), "expected a Status error, got %v", err)
	g.Expect(status.Status().Code).To(gomega.Equal(int32(http.StatusNotAcceptable)), "expected 406, got %v", err)
	_, err = e.client.CoreV1().ConfigMaps(e.ns).Get(ctx, "xml-only", metav1.GetOptions{})
	g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "the refused ConfigMap must not be stored (Get returned %v)", err)
}

func specTableList(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	for _, name := range []string{"table-a", "table-b"} {
		cm := configMap(name)
		cm.Labels = map[string]string{"clusterkit-spec": "table"}
		_, err := e.client.CoreV1().ConfigMaps(e.ns).Create(ctx, cm, metav1.CreateOptions{})
		ok(g, err, "creating ConfigMap "+name)
	}
	table := &metav1.Table{}
	err := e.client.CoreV1().RESTClient().Get().Namespace(e.ns).Resource("configmaps").
		Param("labelSelector", "clusterkit-spec=table").
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").Do(ctx).Into(table)
	ok(g, err, "listing ConfigMaps as a Table")
	g.Expect(table.ColumnDefinitions).NotTo(gomega.BeEmpty(), "columns")
	g.Expect(table.ColumnDefinitions[0].Name).To(gomega.Equal("Name"), "first column")
	g.Expect(table.ResourceVersion).NotTo(gomega.BeEmpty(), "a list Table carries the list's resourceVersion")
	names := []interface{}{}
	for _, row := range table.Rows {
		g.Expect(row.Cells).To(gomega.HaveLen(len(table.ColumnDefinitions)), "one cell per column")
		names = append(names, row.Cells[0])
	}
	g.Expect(names).To(gomega.ConsistOf("table-a", "table-b"), "one row per object, named in the first cell")
}

func specRemainingItemCount(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	for i := range 5 {
		_, err := e.client.CoreV1().PodTemplates(e.ns).Create(ctx, &corev1.PodTemplate{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("template-%d", i)},
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "c", Image: "registry.example/app:1.0"}},
			}},
		}, metav1.CreateOptions{})
		ok(g, err, "creating a PodTemplate")
	}
	first, err := e.client.CoreV1().PodTemplates(e.ns).List(ctx, metav1.ListOptions{Limit: 2})
	ok(g, err, "listing the first page")
	g.Expect(first.Items).To(gomega.HaveLen(2), "the first page holds limit items")
	g.Expect(first.Continue).NotTo(gomega.BeEmpty(), "more pages follow")
	g.Expect(first.RemainingItemCount).NotTo(gomega.BeNil(), "a page with a continue token of an unfiltered list says how many items remain")
	g.Expect(*first.RemainingItemCount).To(gomega.Equal(int64(3)), "remainingItemCount")
	opts := metav1.ListOptions{Limit: 2, Continue: first.Continue}
	for range 5 {
		page, err := e.client.CoreV1().PodTemplates(e.ns).List(ctx, opts)
		ok(g, err, "listing the next page")
		if page.Continue == "" {
			g.Expect(page.RemainingItemCount).To(gomega.BeNil(), "the last page has no remainingItemCount")
			return
		}
		opts.Continue = page.Continue
	}
	g.Expect(false).To(gomega.BeTrue(), "paging 5 PodTemplates 2 at a time did not end")
}

func specAPIListCompactedContinue(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	cms := e.client.CoreV1().ConfigMaps(e.ns)
	for i := range 6 {
		_, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("page-%02d", i)}}, metav1.CreateOptions{})
		ok(g, err, "creating a ConfigMap")
	}
	first, err := cms.List(ctx, metav1.ListOptions{Limit: 2})
	ok(g, err, "listing the first page")
	g.Expect(first.Continue).NotTo(gomega.BeEmpty(), "the first of three pages must carry a continue token")
	_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "page-99"}}, metav1.CreateOptions{})
	ok(g, err, "creating a ConfigMap after the first page")
	ok(g, e.server.Compact(ctx), "compacting the storage")
	_, err = cms.List(ctx, metav1.ListOptions{Limit: 2, Continue: first.Continue})
	g.Expect(apierrors.IsResourceExpired(err) || apierrors.IsGone(err)).To(gomega.BeTrue(), "the continue after compaction must be 410, got %v", err)
	var st apierrors.APIStatus
	g.Expect(errors.As(err, &st)).To(gomega.BeTrue(), "the 410 must be a Status: %v", err)
	cont := st.Status().ListMeta.Continue
	g.Expect(cont).NotTo(gomega.BeEmpty(), "the 410 must carry a continue token for an inconsistent continuation")
	var names []string
	for cont != "" {
		page, err := cms.List(ctx, metav1.ListOptions{Limit: 2, Continue: cont})
		ok(g, err, "listing with the inconsistent continue token")
		g.Expect(page.ResourceVersion).NotTo(gomega.Equal(first.ResourceVersion), "the continuation must be read at a newer resourceVersion")
		for _, cm := range page.Items {
			names = append(names, cm.Name)
		}
		cont = page.Continue
	}
	g.Expect(names).To(gomega.ContainElements("page-02", "page-03", "page-04", "page-05", "page-99"), "the continuation must list every object after the first page, including the one created since")
	g.Expect(names).NotTo(gomega.ContainElements("page-00", "page-01"), "the continuation must start after the first page")
}
