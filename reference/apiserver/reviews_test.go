package apiserver_test

import (
	"context"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"github.com/clusterkit/clusterkit/reference/apiserver"
)

func TestAccessReviews(t *testing.T) {
	authz := authorizer.AuthorizerFunc(func(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
		if a.GetUser().GetName() == "alice" && a.GetVerb() == "get" && a.GetResource() == "pods" {
			return authorizer.DecisionAllow, "alice may", nil
		}
		if a.GetUser().GetName() == "alice" || a.GetPath() == "/x" {
			return authorizer.DecisionNoOpinion, "", nil
		}
		return authorizer.DecisionAllow, "", nil
	})
	ts := newTestServer(t, func(c *apiserver.Config) { c.Access.Authorizer = authz })
	ctx := ctxT(t)
	sars := ts.client.AuthorizationV1().SubjectAccessReviews()
	review := func(verb string) *authorizationv1.SubjectAccessReview {
		return &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: "alice",
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: "default", Verb: verb, Resource: "pods"}}}
	}
	got, err := sars.Create(ctx, review("get"), metav1.CreateOptions{})
	if err != nil || !got.Status.Allowed || got.Status.Reason != "alice may" {
		t.Fatalf("SAR get pods as alice: %v %+v", err, got)
	}
	got, err = sars.Create(ctx, review("delete"), metav1.CreateOptions{})
	if err != nil || got.Status.Allowed || got.Status.Denied {
		t.Fatalf("SAR delete pods as alice: %v %+v", err, got)
	}
	_, err = sars.Create(ctx, &authorizationv1.SubjectAccessReview{}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Fatalf("empty SAR: want 422, got %v", err)
	}
	lsar := &authorizationv1.LocalSubjectAccessReview{Spec: review("get").Spec}
	lsar.Spec.ResourceAttributes.Namespace = "other"
	_, err = ts.client.AuthorizationV1().LocalSubjectAccessReviews("default").Create(ctx, lsar, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Fatalf("LocalSubjectAccessReview for another namespace: want 422, got %v", err)
	}
	// The harness user (system:apiserver) may do everything but GET /x.
	ssar, err := ts.client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: "/x", Verb: "get"}},
	}, metav1.CreateOptions{})
	if err != nil || ssar.Status.Allowed {
		t.Fatalf("SSAR GET /x as the harness user: %v %+v, want not allowed", err, ssar)
	}
	if err := ts.client.AuthorizationV1().RESTClient().Get().Resource("subjectaccessreviews").Name("x").Do(ctx).Error(); err == nil {
		t.Fatal("GET on a review resource must fail")
	}
}

func TestSelfSubjectRulesReviewOpenServer(t *testing.T) {
	ts := newTestServer(t)
	r, err := ts.client.AuthorizationV1().SelfSubjectRulesReviews().Create(ctxT(t), &authorizationv1.SelfSubjectRulesReview{
		Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: "default"},
	}, metav1.CreateOptions{})
	if err != nil || len(r.Status.ResourceRules) == 0 {
		t.Fatalf("SSRR on an open server: %v %+v", err, r)
	}
}
