package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/authenticator"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/apiserver/registry"
	"github.com/clusterkit/clusterkit/reference/apiserver/serviceaccount"
	"github.com/clusterkit/clusterkit/reference/apiserver/storage"
)

// StoreTokenGetter reads the ServiceAccounts, pods, secrets and nodes ServiceAccount tokens name
// straight from the API server's store, for serviceaccount.NewAuthenticator (kube-apiserver
// looks them up the same way, in its own storage). It does not touch the store until asked.
func StoreTokenGetter(store interfaces.Store, encryption storage.Transformers) serviceaccount.Getter {
	return storeGetter{objects: storage.NewTransformed(store, encryption), reg: registry.Default()}
}

// storeGetter reads objects through the server's storage.
type storeGetter struct {
	objects *storage.Objects
	reg     *registry.Registry
}

func (g storeGetter) get(ctx context.Context, resource, namespace, name string) (runtime.Object, error) {
	res := g.reg.Lookup(corev1.SchemeGroupVersion.WithResource(resource))
	if res == nil {
		return nil, apierrors.NewNotFound(corev1.Resource(resource), name)
	}
	return g.objects.Get(ctx, res, namespace, name)
}

func (g storeGetter) GetServiceAccount(ctx context.Context, namespace, name string) (*corev1.ServiceAccount, error) {
	obj, err := g.get(ctx, "serviceaccounts", namespace, name)
	if err != nil {
		return nil, err
	}
	return obj.(*corev1.ServiceAccount), nil
}

func (g storeGetter) GetPod(ctx context.Context, namespace, name string) (*corev1.Pod, error) {
	obj, err := g.get(ctx, "pods", namespace, name)
	if err != nil {
		return nil, err
	}
	return obj.(*corev1.Pod), nil
}

func (g storeGetter) GetSecret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	obj, err := g.get(ctx, "secrets", namespace, name)
	if err != nil {
		return nil, err
	}
	return obj.(*corev1.Secret), nil
}

func (g storeGetter) GetNode(ctx context.Context, name string) (*corev1.Node, error) {
	obj, err := g.get(ctx, "nodes", "", name)
	if err != nil {
		return nil, err
	}
	return obj.(*corev1.Node), nil
}

// apiAudiences are the audiences of tokens meant for this server: Access.APIAudiences, else the
// ServiceAccount issuer (as kube-apiserver defaults --api-audiences).
func (s *Server) apiAudiences() authenticator.Audiences {
	if len(s.cfg.Access.APIAudiences) > 0 {
		return s.cfg.Access.APIAudiences
	}
	if s.cfg.ServiceAccountIssuer != nil {
		return authenticator.Audiences{s.cfg.ServiceAccountIssuer.URL()}
	}
	return nil
}

// serveToken handles POST serviceaccounts/NAME/token (TokenRequest).
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, req request) {
	if r.Method != http.MethodPost {
		writeError(w, apierrors.NewMethodNotSupported(req.res.GroupResource(), strings.ToLower(r.Method)))
		return
	}
	issuer := s.cfg.ServiceAccountIssuer
	if issuer == nil {
		// kube-apiserver without a signing key does not serve the subresource.
		writeError(w, notFoundPath())
		return
	}
	mode, err := fieldValidationMode(r)
	if err != nil {
		writeError(w, err)
		return
	}
	data, err := s.readBody(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	if data, err = s.bodyJSON(r, data); err != nil {
		writeError(w, err)
		return
	}
	tr := &authenticationv1.TokenRequest{}
	warnings, err := decodeInto(data, tr, mode)
	if err != nil {
		writeError(w, err)
		return
	}
	if err := checkKind(tr, serviceaccount.TokenRequestGVK); err != nil {
		writeError(w, err)
		return
	}
	opts := s.cfg.ServiceAccountTokens
	if len(opts.APIAudiences) == 0 {
		opts.APIAudiences = s.apiAudiences()
	}
	ctx := r.Context()
	attrs := func(obj runtime.Object) admission.Attributes {
		return admission.NewAttributesRecord(obj, nil, serviceaccount.TokenRequestGVK, req.namespace, req.name,
			req.res.GroupVersionResource, "token", admission.Create, &metav1.CreateOptions{}, false, requestUser(ctx))
	}
	if err := s.admitMutating(ctx, attrs(tr)); err != nil {
		writeError(w, err)
		return
	}
	validate := func(ctx context.Context, tr *authenticationv1.TokenRequest) error {
		return s.admitValidating(ctx, attrs(tr))
	}
	getter := storeGetter{objects: s.objects, reg: s.registry()}
	out, more, err := issuer.CreateToken(ctx, getter, req.namespace, req.name, tr, opts, validate)
	if err != nil {
		writeError(w, err)
		return
	}
	addWarnings(w, append(warnings, more...))
	writeJSON(w, http.StatusCreated, out)
}

// serveIssuerDiscovery answers the ServiceAccount issuer discovery paths.
func (s *Server) serveIssuerDiscovery(w http.ResponseWriter, r *http.Request) {
	if s.discovery == nil {
		writeError(w, notFoundPath())
		return
	}
	s.discovery.ServeHTTP(w, r)
}

// tokenReview answers a TokenReview with the server's own authenticator, as kube-apiserver:
// the token is authenticated as if it came in a request's Authorization header, for the
// review's audiences (default: the API audiences).
func (s *Server) tokenReview(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
	tr, ok := obj.(*authenticationv1.TokenReview)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a TokenReview: %T", obj))
	}
	if tr.Spec.Token == "" {
		return nil, apierrors.NewBadRequest("token is required for TokenReview in authentication")
	}
	out := tr.DeepCopy()
	out.Status = authenticationv1.TokenReviewStatus{}
	authn := s.cfg.Access.Authenticator
	if authn == nil {
		return out, nil
	}
	auds := authenticator.Audiences(tr.Spec.Audiences)
	if len(auds) == 0 {
		auds = s.apiAudiences()
	}
	// The review's own request carries nothing but the token (and the audiences).
	reviewCtx := ctx
	if len(auds) > 0 {
		reviewCtx = authenticator.WithAudiences(reviewCtx, auds)
	}
	fake := (&http.Request{Header: http.Header{}}).WithContext(reviewCtx)
	fake.Header.Set("Authorization", "Bearer "+tr.Spec.Token)
	resp, ok, err := authn.AuthenticateRequest(fake)
	out.Status.Authenticated = ok
	if err != nil {
		out.Status.Error = err.Error()
	}
	if len(auds) > 0 && resp != nil && len(auds.Intersect(resp.Audiences)) == 0 {
		return nil, apierrors.NewInternalError(errors.New("error validating audiences"))
	}
	if resp != nil && resp.User != nil {
		out.Status.User = userInfo(resp.User.GetName(), resp.User.GetUID(), resp.User.GetGroups(), resp.User.GetExtra())
		out.Status.Audiences = resp.Audiences
	}
	return out, nil
}

// selfSubjectReview answers who the request acts as (kubectl auth whoami).
func (s *Server) selfSubjectReview(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
	if _, ok := obj.(*authenticationv1.SelfSubjectReview); !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a SelfSubjectReview: %T", obj))
	}
	u := requestUser(ctx)
	return &authenticationv1.SelfSubjectReview{
		TypeMeta:   metav1.TypeMeta{APIVersion: authenticationv1.SchemeGroupVersion.String(), Kind: "SelfSubjectReview"},
		ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(s.now())},
		Status: authenticationv1.SelfSubjectReviewStatus{
			UserInfo: userInfo(u.GetName(), u.GetUID(), u.GetGroups(), u.GetExtra()),
		},
	}, nil
}

func userInfo(name, uid string, groups []string, extra map[string][]string) authenticationv1.UserInfo {
	ui := authenticationv1.UserInfo{Username: name, UID: uid, Groups: groups, Extra: map[string]authenticationv1.ExtraValue{}}
	for k, v := range extra {
		ui.Extra[k] = authenticationv1.ExtraValue(v)
	}
	return ui
}
