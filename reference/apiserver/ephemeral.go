package apiserver

import (
	"context"
	"fmt"
	"net/http"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ephemeralFunc answers a create of an ephemeral resource (registry.Resource.Ephemeral): it
// gets the decoded request object, whose namespace is the request's for a namespaced resource,
// and returns the object to answer with (usually the request with its status filled in).
type ephemeralFunc func(ctx context.Context, obj runtime.Object) (runtime.Object, error)

// ephemeralHandlers returns the function answering each ephemeral resource this server serves.
func (s *Server) ephemeralHandlers() map[schema.GroupResource]ephemeralFunc {
	out := map[schema.GroupResource]ephemeralFunc{
		authenticationv1.Resource("tokenreviews"):       s.tokenReview,
		authenticationv1.Resource("selfsubjectreviews"): s.selfSubjectReview,
	}
	for gr, fn := range s.authorizationReviews() {
		out[gr] = fn
	}
	return out
}

// serveEphemeral answers POST on an ephemeral resource's collection with 201 and the computed
// object; nothing is stored, so dryRun changes nothing.
func (s *Server) serveEphemeral(w http.ResponseWriter, r *http.Request, req request) {
	fn := s.ephemeral[req.res.GroupResource()]
	if fn == nil {
		writeError(w, apierrors.NewInternalError(fmt.Errorf("no handler for %s", req.res.GroupResource())))
		return
	}
	obj, warnings, err := s.decodeObject(w, r, req.res)
	if err != nil {
		writeError(w, err)
		return
	}
	if req.res.Namespaced {
		m := objectMeta(obj)
		switch m.GetNamespace() {
		case "":
			m.SetNamespace(req.namespace)
		case req.namespace:
		default:
			writeError(w, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request"))
			return
		}
	}
	out, err := fn(r.Context(), obj)
	if err != nil {
		writeError(w, err)
		return
	}
	addWarnings(w, warnings)
	s.writeObject(w, r, req.res, http.StatusCreated, out)
}
