package apiserver

import (
	"context"
	"fmt"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
)

// The authorization.k8s.io review APIs ask the server's own authorizer (Config.Access.Authorizer,
// everything allowed without one) what it decides for a user, as kube-apiserver's
// pkg/registry/authorization does: SubjectAccessReview and LocalSubjectAccessReview for any
// user, SelfSubjectAccessReview and SelfSubjectRulesReview (kubectl auth can-i [--list]) for
// the caller.

var authorizationGroup = authorizationv1.SchemeGroupVersion.Group

// authorizationReviews returns the handlers of the review resources.
func (s *Server) authorizationReviews() map[schema.GroupResource]ephemeralFunc {
	gr := func(r string) schema.GroupResource {
		return schema.GroupResource{Group: authorizationGroup, Resource: r}
	}
	return map[schema.GroupResource]ephemeralFunc{
		gr("subjectaccessreviews"):      s.subjectAccessReview,
		gr("localsubjectaccessreviews"): s.localSubjectAccessReview,
		gr("selfsubjectaccessreviews"):  s.selfSubjectAccessReview,
		gr("selfsubjectrulesreviews"):   s.selfSubjectRulesReview,
	}
}

// serverAuthorizer is the authorizer the reviews ask.
func (s *Server) serverAuthorizer() authorizer.UnconditionalAuthorizer {
	if s.cfg.Access.Authorizer != nil {
		return s.cfg.Access.Authorizer
	}
	return authorizerfactory.NewAlwaysAllowAuthorizer()
}

// validateAttributes: exactly one of resourceAttributes and nonResourceAttributes.
func validateAttributes(res *authorizationv1.ResourceAttributes, nonRes *authorizationv1.NonResourceAttributes, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if res != nil && nonRes != nil {
		errs = append(errs, field.Invalid(p.Child("nonResourceAttributes"), nonRes, "cannot be specified in combination with resourceAttributes"))
	}
	if res == nil && nonRes == nil {
		errs = append(errs, field.Invalid(p.Child("resourceAttributes"), nonRes, "exactly one of nonResourceAttributes or resourceAttributes must be specified"))
	}
	return errs
}

// reviewAttributes turns a review's spec into the attributes the authorizer decides on.
func reviewAttributes(u user.Info, res *authorizationv1.ResourceAttributes, nonRes *authorizationv1.NonResourceAttributes) authorizer.AttributesRecord {
	if res != nil {
		return authorizer.AttributesRecord{
			User: u, Verb: res.Verb, Namespace: res.Namespace, APIGroup: res.Group, APIVersion: res.Version,
			Resource: res.Resource, Subresource: res.Subresource, Name: res.Name, ResourceRequest: true,
		}
	}
	return authorizer.AttributesRecord{User: u, Verb: nonRes.Verb, Path: nonRes.Path}
}

// decide asks the authorizer and fills a review status.
func (s *Server) decide(ctx context.Context, attrs authorizer.AttributesRecord) authorizationv1.SubjectAccessReviewStatus {
	d, reason, err := s.serverAuthorizer().Authorize(ctx, attrs)
	st := authorizationv1.SubjectAccessReviewStatus{
		Allowed: d == authorizer.DecisionAllow,
		Denied:  d == authorizer.DecisionDeny,
		Reason:  reason,
	}
	if err != nil {
		st.EvaluationError = err.Error()
	}
	return st
}

// specUser is the user a SubjectAccessReview's spec names.
func specUser(spec authorizationv1.SubjectAccessReviewSpec) user.Info {
	extra := map[string][]string{}
	for k, v := range spec.Extra {
		extra[k] = append([]string(nil), v...)
	}
	return &user.DefaultInfo{Name: spec.User, UID: spec.UID, Groups: spec.Groups, Extra: extra}
}

func validateSubjectSpec(spec authorizationv1.SubjectAccessReviewSpec) field.ErrorList {
	p := field.NewPath("spec")
	errs := validateAttributes(spec.ResourceAttributes, spec.NonResourceAttributes, p)
	if spec.User == "" && len(spec.Groups) == 0 {
		errs = append(errs, field.Invalid(p.Child("user"), spec.User, "at least one of user or group must be specified"))
	}
	return errs
}

func (s *Server) subjectAccessReview(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
	r, ok := obj.(*authorizationv1.SubjectAccessReview)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a SubjectAccessReview: %T", obj))
	}
	if errs := validateSubjectSpec(r.Spec); len(errs) > 0 {
		return nil, apierrors.NewInvalid(authorizationv1.SchemeGroupVersion.WithKind("SubjectAccessReview").GroupKind(), "", errs)
	}
	r.Status = s.decide(ctx, reviewAttributes(specUser(r.Spec), r.Spec.ResourceAttributes, r.Spec.NonResourceAttributes))
	return r, nil
}

func (s *Server) localSubjectAccessReview(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
	r, ok := obj.(*authorizationv1.LocalSubjectAccessReview)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a LocalSubjectAccessReview: %T", obj))
	}
	errs := validateSubjectSpec(r.Spec)
	if r.Spec.NonResourceAttributes != nil {
		errs = append(errs, field.Invalid(field.NewPath("spec", "nonResourceAttributes"), r.Spec.NonResourceAttributes, "disallowed on this kind of request"))
	}
	if r.Spec.ResourceAttributes != nil && r.Spec.ResourceAttributes.Namespace != r.Namespace {
		errs = append(errs, field.Invalid(field.NewPath("spec", "resourceAttributes", "namespace"), r.Spec.ResourceAttributes.Namespace, "must match metadata.namespace"))
	}
	if len(errs) > 0 {
		return nil, apierrors.NewInvalid(authorizationv1.SchemeGroupVersion.WithKind("LocalSubjectAccessReview").GroupKind(), r.Name, errs)
	}
	r.Status = s.decide(ctx, reviewAttributes(specUser(r.Spec), r.Spec.ResourceAttributes, r.Spec.NonResourceAttributes))
	return r, nil
}

func (s *Server) selfSubjectAccessReview(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
	r, ok := obj.(*authorizationv1.SelfSubjectAccessReview)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a SelfSubjectAccessReview: %T", obj))
	}
	if errs := validateAttributes(r.Spec.ResourceAttributes, r.Spec.NonResourceAttributes, field.NewPath("spec")); len(errs) > 0 {
		return nil, apierrors.NewInvalid(authorizationv1.SchemeGroupVersion.WithKind("SelfSubjectAccessReview").GroupKind(), "", errs)
	}
	r.Status = s.decide(ctx, reviewAttributes(requestUser(ctx), r.Spec.ResourceAttributes, r.Spec.NonResourceAttributes))
	return r, nil
}

func (s *Server) selfSubjectRulesReview(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
	r, ok := obj.(*authorizationv1.SelfSubjectRulesReview)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a SelfSubjectRulesReview: %T", obj))
	}
	if r.Spec.Namespace == "" {
		return nil, apierrors.NewBadRequest("no namespace on request")
	}
	resolver, ok := s.serverAuthorizer().(authorizer.RuleResolver)
	if !ok {
		r.Status = authorizationv1.SubjectRulesReviewStatus{Incomplete: true,
			EvaluationError: "the server's authorizer does not list rules"}
		return r, nil
	}
	res, nonRes, incomplete, err := resolver.RulesFor(ctx, requestUser(ctx), r.Spec.Namespace)
	st := authorizationv1.SubjectRulesReviewStatus{Incomplete: incomplete,
		ResourceRules: []authorizationv1.ResourceRule{}, NonResourceRules: []authorizationv1.NonResourceRule{}}
	for _, ri := range res {
		st.ResourceRules = append(st.ResourceRules, authorizationv1.ResourceRule{
			Verbs: ri.GetVerbs(), APIGroups: ri.GetAPIGroups(), Resources: ri.GetResources(), ResourceNames: ri.GetResourceNames(),
		})
	}
	for _, ri := range nonRes {
		st.NonResourceRules = append(st.NonResourceRules, authorizationv1.NonResourceRule{Verbs: ri.GetVerbs(), NonResourceURLs: ri.GetNonResourceURLs()})
	}
	if err != nil {
		st.EvaluationError = err.Error()
	}
	r.Status = st
	return r, nil
}
