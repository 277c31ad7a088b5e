package apiserver

import (
	"fmt"
	"net/url"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterkit/clusterkit/reference/apiserver/registry"
	"github.com/clusterkit/clusterkit/reference/apiserver/storage"
)

// matcher decides whether an object is selected by a request's label and field selectors.
type matcher struct {
	res    *registry.Resource
	labels labels.Selector
	fields fields.Selector
	// name restricts to one object (watch of a single object).
	name string
}

// parseMatcher parses labelSelector and fieldSelector; an unsupported field is a 400.
func parseMatcher(res *registry.Resource, q url.Values) (*matcher, error) {
	m := &matcher{res: res, labels: labels.Everything(), fields: fields.Everything()}
	if ls := q.Get("labelSelector"); ls != "" {
		sel, err := labels.Parse(ls)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("unable to parse requirement: %v", err))
		}
		m.labels = sel
	}
	if fs := q.Get("fieldSelector"); fs != "" {
		sel, err := fields.ParseSelector(fs)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid field selector: %v", err))
		}
		for _, req := range sel.Requirements() {
			if !res.SupportsField(req.Field) {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("field label not supported: %s", req.Field))
			}
		}
		m.fields = sel
	}
	return m, nil
}

// everything reports whether the matcher selects every object.
func (m *matcher) everything() bool {
	return m.labels.Empty() && m.fields.Empty() && m.name == ""
}

// matches reports whether obj is selected.
func (m *matcher) matches(obj runtime.Object) bool {
	return m.matchesWith(obj, nil)
}

// matchesWith is matches with obj's field set computed already (set; nil: computed here when
// a field selector needs it).
func (m *matcher) matchesWith(obj runtime.Object, set fields.Set) bool {
	if obj == nil {
		return false
	}
	om := objectMeta(obj)
	if m.name != "" && om.GetName() != m.name {
		return false
	}
	if !m.labels.Matches(labels.Set(om.GetLabels())) {
		return false
	}
	if m.fields.Empty() {
		return true
	}
	if set == nil {
		set = m.res.FieldSet(obj, om.GetName(), om.GetNamespace())
	}
	return m.fields.Matches(set)
}

// watchOptions tell the store which changes the watch needs: with a field selector requiring
// one value of the resource's WatchIndex field, only those of objects with that value.
func (m *matcher) watchOptions() storage.WatchOptions {
	if m.res.WatchIndex == "" {
		return storage.WatchOptions{}
	}
	if v, ok := m.fields.RequiresExactMatch(m.res.WatchIndex); ok {
		return storage.WatchOptions{IndexValue: &v}
	}
	return storage.WatchOptions{}
}

// filter returns nil when everything matches, else the match function.
func (m *matcher) filter() func(runtime.Object) bool {
	if m.everything() {
		return nil
	}
	return m.matches
}
