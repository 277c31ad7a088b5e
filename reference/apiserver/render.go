package apiserver

import (
	"net/http"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterkit/clusterkit/reference/apiserver/registry"
	"github.com/clusterkit/clusterkit/reference/apiserver/tables"
)

// render turns one object (or a page of objects, when list is true) into the form the client
// asked for: the typed object/list, a Table, or PartialObjectMetadata(List).
func (s *Server) render(r *http.Request, res *registry.Resource, out output, objs []runtime.Object, list bool, lm metav1.ListMeta) (any, error) {
	switch out.form {
	case formTable:
		var t *metav1.Table
		var err error
		if res.Table != nil {
			t, err = res.Table(objs, r.URL.Query().Get("includeObject"))
		} else {
			t, err = tables.TableWithObjects(res.GroupVersionKind(), objs, s.now(), r.URL.Query().Get("includeObject"))
		}
		if err != nil {
			if _, ok := err.(apierrors.APIStatus); ok {
				return nil, err
			}
			return nil, apierrors.NewInternalError(err)
		}
		t.APIVersion = "meta.k8s.io/" + out.metaVersion
		t.Kind = "Table"
		t.ListMeta = lm
		if !list && len(objs) == 1 {
			t.ResourceVersion = objectMeta(objs[0]).GetResourceVersion()
		}
		return t, nil
	case formMetadata:
		apiVersion := "meta.k8s.io/" + out.metaVersion
		if !list {
			return partialMetadata(objs[0], apiVersion), nil
		}
		pl := &metav1.PartialObjectMetadataList{
			TypeMeta: metav1.TypeMeta{APIVersion: apiVersion, Kind: "PartialObjectMetadataList"},
			ListMeta: lm,
			Items:    []metav1.PartialObjectMetadata{},
		}
		for _, o := range objs {
			pl.Items = append(pl.Items, *partialMetadata(o, apiVersion))
		}
		return pl, nil
	}
	if !list {
		return objs[0], nil
	}
	l := res.NewList()
	if err := meta.SetList(l, objs); err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	la, err := meta.ListAccessor(l)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	la.SetResourceVersion(lm.ResourceVersion)
	la.SetContinue(lm.Continue)
	la.SetRemainingItemCount(lm.RemainingItemCount)
	l.GetObjectKind().SetGroupVersionKind(res.ListGroupVersionKind())
	return l, nil
}

// partialMetadata is obj's metadata as a PartialObjectMetadata (what metadata-only clients,
// such as kube-controller-manager's garbage collector and namespace controller, read).
func partialMetadata(obj runtime.Object, apiVersion string) *metav1.PartialObjectMetadata {
	pm := meta.AsPartialObjectMetadata(objectMeta(obj))
	pm.TypeMeta = metav1.TypeMeta{APIVersion: apiVersion, Kind: "PartialObjectMetadata"}
	return pm
}

// writeObject renders a single object for the request and writes it with code.
func (s *Server) writeObject(w http.ResponseWriter, r *http.Request, res *registry.Resource, code int, obj runtime.Object) {
	out, err := negotiateOutput(r.Header.Get("Accept"), res)
	if err != nil {
		writeError(w, err)
		return
	}
	v, err := s.render(r, res, out, []runtime.Object{obj}, false, metav1.ListMeta{})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, code, v)
}

func revisionString(rev int64) string { return strconv.FormatInt(rev, 10) }
