package rbac

import (
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/tools/cache"
)

// subjectIndex is the informers' index of bindings by the users and groups their subjects
// name, so that a decision reads the bindings of its user rather than walking every binding
// of the cluster.
const subjectIndex = "clusterkit.rbac/subject"

// subjectKey is the index value of a user name (a User subject, or a ServiceAccount subject by
// its system:serviceaccount:NS:NAME user name; kind "user") or a group (kind "group") named by a
// binding in namespace ("" for a ClusterRoleBinding).
func subjectKey(namespace, kind, name string) string {
	return namespace + "/" + kind + ":" + name
}

// subjectKeys are the index values of a binding in bindingNamespace: the users and groups
// appliesTo matches.
func subjectKeys(subjects []rbacv1.Subject, bindingNamespace string) []string {
	keys := make([]string, 0, len(subjects))
	for _, s := range subjects {
		switch s.Kind {
		case rbacv1.UserKind:
			keys = append(keys, subjectKey(bindingNamespace, "user", s.Name))
		case rbacv1.GroupKind:
			keys = append(keys, subjectKey(bindingNamespace, "group", s.Name))
		case rbacv1.ServiceAccountKind:
			ns := s.Namespace
			if ns == "" {
				ns = bindingNamespace
			}
			if ns != "" {
				keys = append(keys, subjectKey(bindingNamespace, "user", serviceaccount.MakeUsername(ns, s.Name)))
			}
		}
	}
	return keys
}

// indexBySubject adds subjectIndex to a binding informer (started or not; once is enough
// when the factory is shared).
func indexBySubject(informer cache.SharedIndexInformer) error {
	if _, ok := informer.GetIndexer().GetIndexers()[subjectIndex]; ok {
		return nil
	}
	return informer.AddIndexers(cache.Indexers{subjectIndex: func(obj any) ([]string, error) {
		switch b := obj.(type) {
		case *rbacv1.ClusterRoleBinding:
			return subjectKeys(b.Subjects, ""), nil
		case *rbacv1.RoleBinding:
			return subjectKeys(b.Subjects, b.Namespace), nil
		}
		return nil, fmt.Errorf("rbac: indexing %T by subject", obj)
	}})
}

// bindingsOf returns the bindings in namespace ("" for ClusterRoleBindings) whose subjects
// name u or one of its groups, each once.
func bindingsOf[B any](indexer cache.Indexer, u user.Info, namespace string) ([]*B, error) {
	var found []*B
	add := func(kind, name string) error {
		objs, err := indexer.ByIndex(subjectIndex, subjectKey(namespace, kind, name))
		if err != nil {
			return err
		}
	next:
		for _, o := range objs {
			b, ok := o.(*B)
			if !ok {
				continue
			}
			for _, seen := range found {
				if seen == b {
					continue next
				}
			}
			found = append(found, b)
		}
		return nil
	}
	if err := add("user", u.GetName()); err != nil {
		return nil, err
	}
	for _, g := range u.GetGroups() {
		if err := add("group", g); err != nil {
			return nil, err
		}
	}
	return found, nil
}
