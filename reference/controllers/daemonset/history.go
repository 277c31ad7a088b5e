package daemonset

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/clusterkit/clusterkit/reference/controllers/deployment"
	"github.com/clusterkit/clusterkit/reference/controllers/runner"
)

// DefaultRevisionHistoryLimit is how many old ControllerRevisions a DaemonSet keeps when
// spec.revisionHistoryLimit is unset.
const DefaultRevisionHistoryLimit = 10

// templateHash is the hash of ds's template (with its collision count) as Kubernetes computes
// it: the pod-template-hash of a Deployment of the same template.
func templateHash(ds *appsv1.DaemonSet) string {
	return deployment.PodTemplateHash(&ds.Spec.Template, ds.Status.CollisionCount)
}

// revisionData is what a ControllerRevision of ds records: its template as a strategic merge
// patch that replaces the whole template.
func revisionData(ds *appsv1.DaemonSet) ([]byte, error) {
	raw, err := json.Marshal(ds)
	if err != nil {
		return nil, err
	}
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, err
	}
	spec, _ := obj["spec"].(map[string]any)
	template, _ := spec["template"].(map[string]any)
	if template == nil {
		template = map[string]any{}
	}
	template["$patch"] = "replace"
	return json.Marshal(map[string]any{"spec": map[string]any{"template": template}})
}

// sameData reports whether two revision payloads are the same JSON document.
func sameData(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return bytes.Equal(ja, jb)
}

// history returns ds's ControllerRevisions after adopting orphans its selector matches and
// releasing owned ones it no longer matches.
func (c *controller) history(ctx context.Context, ds *appsv1.DaemonSet, sel labels.Selector) ([]*appsv1.ControllerRevision, error) {
	all, err := c.revLister.ControllerRevisions(ds.Namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	var out []*appsv1.ControllerRevision
	var errs []error
	for _, r := range all {
		ref := metav1.GetControllerOfNoCopy(r)
		matches := sel.Matches(labels.Set(r.Labels))
		switch {
		case ref != nil && ref.UID == ds.UID && matches:
			out = append(out, r)
		case ref != nil && ref.UID == ds.UID:
			_, err := c.client.AppsV1().ControllerRevisions(r.Namespace).Patch(ctx, r.Name, types.StrategicMergePatchType,
				runner.ReleasePatch(ds.UID, r.UID), metav1.PatchOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("releasing ControllerRevision %s: %w", r.Name, err))
			}
		case ref == nil && matches && ds.DeletionTimestamp == nil && r.DeletionTimestamp == nil:
			adopted, err := c.client.AppsV1().ControllerRevisions(r.Namespace).Patch(ctx, r.Name, types.StrategicMergePatchType,
				runner.AdoptPatch(runner.ControllerRef(ds, dsKind), r.UID), metav1.PatchOptions{})
			if err != nil {
				if !apierrors.IsNotFound(err) {
					errs = append(errs, fmt.Errorf("adopting ControllerRevision %s: %w", r.Name, err))
				}
				continue
			}
			out = append(out, adopted)
		}
	}
	return out, errors.Join(errs...)
}

// currentRevision finds or creates the ControllerRevision of ds's current template, with a
// revision number above every other one; duplicates of it are deleted. It returns the
// revision, the old ones, and the template hash pods of the current template carry.
func (c *controller) currentRevision(ctx context.Context, ds *appsv1.DaemonSet, revs []*appsv1.ControllerRevision) (*appsv1.ControllerRevision, []*appsv1.ControllerRevision, error) {
	data, err := revisionData(ds)
	if err != nil {
		return nil, nil, err
	}
	var maxRev int64
	var matching, old []*appsv1.ControllerRevision
	for _, r := range revs {
		maxRev = max(maxRev, r.Revision)
		if sameData(r.Data.Raw, data) {
			matching = append(matching, r)
		} else {
			old = append(old, r)
		}
	}
	if len(matching) > 0 {
		sort.Slice(matching, func(i, j int) bool { return matching[i].Revision > matching[j].Revision })
		cur := matching[0]
		for _, dup := range matching[1:] {
			err := c.client.AppsV1().ControllerRevisions(dup.Namespace).Delete(ctx, dup.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &dup.UID}})
			if err != nil && !apierrors.IsNotFound(err) {
				return nil, nil, fmt.Errorf("deleting duplicate ControllerRevision %s: %w", dup.Name, err)
			}
		}
		if cur.Revision < maxRev {
			cp := cur.DeepCopy()
			cp.Revision = maxRev + 1
			cur, err = c.client.AppsV1().ControllerRevisions(cp.Namespace).Update(ctx, cp, metav1.UpdateOptions{})
			if err != nil {
				return nil, nil, fmt.Errorf("renumbering ControllerRevision %s: %w", cp.Name, err)
			}
		}
		return cur, old, nil
	}
	hash := templateHash(ds)
	lbls := map[string]string{}
	for k, v := range ds.Spec.Template.Labels {
		lbls[k] = v
	}
	lbls[HashLabel] = hash
	rev := &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Name: ds.Name + "-" + hash, Namespace: ds.Namespace, Labels: lbls, Annotations: ds.Annotations,
			OwnerReferences: []metav1.OwnerReference{runner.ControllerRef(ds, dsKind)},
		},
		Data:     runtime.RawExtension{Raw: data},
		Revision: maxRev + 1,
	}
	created, err := c.client.AppsV1().ControllerRevisions(ds.Namespace).Create(ctx, rev, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		// The role of Kubernetes' daemon-set-controller cannot get revisions: read the cache.
		existing, getErr := c.revLister.ControllerRevisions(ds.Namespace).Get(rev.Name)
		if getErr != nil {
			return nil, nil, fmt.Errorf("ControllerRevision %s exists but is not in the cache yet: %w", rev.Name, getErr)
		}
		if ref := metav1.GetControllerOfNoCopy(existing); ref != nil && ref.UID == ds.UID && sameData(existing.Data.Raw, data) {
			// Our own revision, not yet in the cache.
			return existing, old, nil
		}
		// A hash collision: count it so that the next hash differs.
		cp := ds.DeepCopy()
		n := int32(0)
		if cp.Status.CollisionCount != nil {
			n = *cp.Status.CollisionCount
		}
		n++
		cp.Status.CollisionCount = &n
		if _, err := c.client.AppsV1().DaemonSets(ds.Namespace).UpdateStatus(ctx, cp, metav1.UpdateOptions{}); err != nil {
			return nil, nil, fmt.Errorf("counting a hash collision of %s: %w", ds.Name, err)
		}
		return nil, nil, fmt.Errorf("ControllerRevision %s exists with another template: collision count now %d", rev.Name, n)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("creating ControllerRevision %s: %w", rev.Name, err)
	}
	return created, old, nil
}

// cleanupHistory deletes the oldest old revisions no live pod was made from, beyond
// revisionHistoryLimit.
func (c *controller) cleanupHistory(ctx context.Context, ds *appsv1.DaemonSet, old []*appsv1.ControllerRevision, pods []*corev1.Pod) error {
	limit := DefaultRevisionHistoryLimit
	if ds.Spec.RevisionHistoryLimit != nil {
		limit = int(*ds.Spec.RevisionHistoryLimit)
	}
	if len(old) <= limit {
		return nil
	}
	live := map[string]bool{}
	for _, p := range pods {
		if h, ok := p.Labels[HashLabel]; ok {
			live[h] = true
		}
	}
	sorted := append([]*appsv1.ControllerRevision(nil), old...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Revision < sorted[j].Revision })
	toKill := len(old) - limit
	var errs []error
	for _, r := range sorted {
		if toKill <= 0 {
			break
		}
		if live[r.Labels[HashLabel]] {
			continue
		}
		err := c.client.AppsV1().ControllerRevisions(r.Namespace).Delete(ctx, r.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &r.UID}})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting old ControllerRevision %s: %w", r.Name, err))
		}
		toKill--
	}
	return errors.Join(errs...)
}
