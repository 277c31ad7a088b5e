package apiserver

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterkit/clusterkit/reference/apiserver/registry"
)

// errNoChange ends a read-modify-write that has nothing to write.
var errNoChange = errors.New("no change")

// namespaceContent counts what a terminating namespace still holds, per resource and per
// finalizer, for the namespace's deletion conditions.
type namespaceContent struct {
	total      int
	resources  map[string]int
	finalizers map[string]int
}

func newNamespaceContent() *namespaceContent {
	return &namespaceContent{resources: map[string]int{}, finalizers: map[string]int{}}
}

func (c *namespaceContent) add(r *registry.Resource, m metav1.Object) {
	c.total++
	c.resources[r.Resource+"."+r.Group]++
	for _, f := range m.GetFinalizers() {
		c.finalizers[f]++
	}
}

// counted lists "key has N resource instances"-style entries sorted by key.
func counted(m map[string]int, format string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf(format, k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// setNamespaceDeletionConditions writes the five deletion conditions Kubernetes' namespace
// controller keeps on a terminating namespace (status False when all is well), changing
// lastTransitionTime only when a condition's status changes.
func (s *Server) setNamespaceDeletionConditions(ctx context.Context, res *registry.Resource, name string, content *namespaceContent, deleteErr error) error {
	type cond struct {
		t               corev1.NamespaceConditionType
		status          corev1.ConditionStatus
		reason, message string
	}
	want := []cond{
		{corev1.NamespaceDeletionDiscoveryFailure, corev1.ConditionFalse, "ResourcesDiscovered", "All resources successfully discovered"},
		{corev1.NamespaceDeletionGVParsingFailure, corev1.ConditionFalse, "ParsedGroupVersions", "All legacy kube types successfully parsed"},
		{corev1.NamespaceDeletionContentFailure, corev1.ConditionFalse, "ContentDeleted", "All content successfully deleted, may be waiting on finalization"},
		{corev1.NamespaceContentRemaining, corev1.ConditionFalse, "ContentRemoved", "All content successfully removed"},
		{corev1.NamespaceFinalizersRemaining, corev1.ConditionFalse, "ContentHasNoFinalizers", "All content-preserving finalizers finished"},
	}
	if deleteErr != nil {
		want[2] = cond{corev1.NamespaceDeletionContentFailure, corev1.ConditionTrue, "ContentDeletionFailed", "Failed to delete all resource types, 1 remaining: " + deleteErr.Error()}
	}
	if content.total > 0 {
		want[3] = cond{corev1.NamespaceContentRemaining, corev1.ConditionTrue, "SomeResourcesRemain",
			"Some resources are remaining: " + counted(content.resources, "%s has %d resource instances")}
	}
	if len(content.finalizers) > 0 {
		want[4] = cond{corev1.NamespaceFinalizersRemaining, corev1.ConditionTrue, "SomeFinalizersRemain",
			"Some content in the namespace has finalizers remaining: " + counted(content.finalizers, "%s in %d resource instances")}
	}
	now := metav1.NewTime(s.now().UTC().Truncate(1e9))
	_, err := s.objects.Update(ctx, res, "", name, func(cur runtime.Object) (runtime.Object, error) {
		ns := cur.(*corev1.Namespace)
		changed := false
		for _, w := range want {
			i := -1
			for j := range ns.Status.Conditions {
				if ns.Status.Conditions[j].Type == w.t {
					i = j
				}
			}
			next := corev1.NamespaceCondition{Type: w.t, Status: w.status, Reason: w.reason, Message: w.message, LastTransitionTime: now}
			switch {
			case i < 0:
				ns.Status.Conditions = append(ns.Status.Conditions, next)
				changed = true
			case ns.Status.Conditions[i].Status != w.status:
				ns.Status.Conditions[i] = next
				changed = true
			case ns.Status.Conditions[i].Reason != w.reason || ns.Status.Conditions[i].Message != w.message:
				next.LastTransitionTime = ns.Status.Conditions[i].LastTransitionTime
				ns.Status.Conditions[i] = next
				changed = true
			}
		}
		if !changed {
			return nil, errNoChange
		}
		return ns, nil
	})
	if errors.Is(err, errNoChange) {
		return nil
	}
	return err
}
