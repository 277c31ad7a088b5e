package conformance

import (
	"context"

	"github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
)

const srcServerSideApply = "Kubernetes: Server-Side Apply (kubernetes.io/docs/reference/using-api/server-side-apply)"

// apiApplySpecs are the server-side apply and managedFields behaviours.
func apiApplySpecs() []spec[*apiEnv] {
	return []spec[*apiEnv]{
		{api("api.apply.creates", "a server-side apply of an object that does not exist MUST create it, recording the field manager in metadata.managedFields with operation Apply", srcServerSideApply), specApplyCreates},
		{api("api.apply.conflict", "a server-side apply that changes a field another manager owns MUST fail with 409 Conflict and change nothing, and the same apply with force=true MUST take the field over", srcServerSideApply), specApplyConflict},
		{api("api.apply.removes-dropped-fields", "a field a manager applied before and leaves out of its next apply MUST be removed when no other manager owns it", srcServerSideApply), specApplyRemovesDropped},
		{api("api.apply.field-manager-required", "a server-side apply without a fieldManager MUST fail with 422 naming fieldManager, and create nothing", srcServerSideApply), specApplyNeedsManager},
		{api("api.managedfields.update", "an update MUST be recorded in metadata.managedFields under its fieldManager with operation Update, and a later update by the same manager MUST NOT add a second entry", srcServerSideApply), specManagedFieldsUpdate},
	}
}

// managerEntry returns the managedFields entry of manager with operation op, or nil.
func managerEntry(entries []metav1.ManagedFieldsEntry, manager string, op metav1.ManagedFieldsOperationType) *metav1.ManagedFieldsEntry {
	for i := range entries {
		if entries[i].Manager == manager && entries[i].Operation == op {
			return &entries[i]
		}
	}
	return nil
}

func specApplyCreates(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	cm, err := e.client.CoreV1().ConfigMaps(e.ns).Apply(ctx,
		corev1ac.ConfigMap("applied", e.ns).WithData(map[string]string{"a": "1"}),
		metav1.ApplyOptions{FieldManager: "spec-applier"})
	ok(g, err, "applying a new ConfigMap")
	g.Expect(cm.Data).To(gomega.Equal(map[string]string{"a": "1"}), "the applied data")
	got, err := e.client.CoreV1().ConfigMaps(e.ns).Get(ctx, "applied", metav1.GetOptions{})
	ok(g, err, "reading the applied ConfigMap")
	entry := managerEntry(got.ManagedFields, "spec-applier", metav1.ManagedFieldsOperationApply)
	g.Expect(entry).NotTo(gomega.BeNil(), "managedFields must hold an Apply entry of spec-applier, got %+v", got.ManagedFields)
	g.Expect(entry.FieldsV1).NotTo(gomega.BeNil(), "the entry must list the owned fields")
	g.Expect(string(entry.FieldsV1.Raw)).To(gomega.ContainSubstring(`"f:a"`), "the entry must own data.a")
}

func specApplyConflict(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	_, err := e.client.CoreV1().ConfigMaps(e.ns).Apply(ctx,
		corev1ac.ConfigMap("contested", e.ns).WithData(map[string]string{"owned": "first"}),
		metav1.ApplyOptions{FieldManager: "first-owner"})
	ok(g, err, "the first manager's apply")
	_, err = e.client.CoreV1().ConfigMaps(e.ns).Apply(ctx,
		corev1ac.ConfigMap("contested", e.ns).WithData(map[string]string{"owned": "second"}),
		metav1.ApplyOptions{FieldManager: "second-owner"})
	g.Expect(apierrors.IsConflict(err)).To(gomega.BeTrue(), "changing a field another manager owns must be 409 Conflict, got %v", err)
	got, err := e.client.CoreV1().ConfigMaps(e.ns).Get(ctx, "contested", metav1.GetOptions{})
	ok(g, err, "reading the ConfigMap")
	g.Expect(got.Data["owned"]).To(gomega.Equal("first"), "a conflicting apply must change nothing")
	_, err = e.client.CoreV1().ConfigMaps(e.ns).Apply(ctx,
		corev1ac.ConfigMap("contested", e.ns).WithData(map[string]string{"owned": "second"}),
		metav1.ApplyOptions{FieldManager: "second-owner", Force: true})
	ok(g, err, "the forced apply")
	got, err = e.client.CoreV1().ConfigMaps(e.ns).Get(ctx, "contested", metav1.GetOptions{})
	ok(g, err, "reading the ConfigMap")
	g.Expect(got.Data["owned"]).To(gomega.Equal("second"), "a forced apply must take the field over")
	first := managerEntry(got.ManagedFields, "first-owner", metav1.ManagedFieldsOperationApply)
	if first != nil && first.FieldsV1 != nil {
		g.Expect(string(first.FieldsV1.Raw)).NotTo(gomega.ContainSubstring(`"f:owned"`), "the field must no longer be owned by the first manager")
	}
}

func specApplyRemovesDropped(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	_, err := e.client.CoreV1().ConfigMaps(e.ns).Apply(ctx,
		corev1ac.ConfigMap("shrinking", e.ns).WithData(map[string]string{"keep": "1", "drop": "2"}),
		metav1.ApplyOptions{FieldManager: "shrinker"})
	ok(g, err, "the first apply")
	_, err = e.client.CoreV1().ConfigMaps(e.ns).Apply(ctx,
		corev1ac.ConfigMap("shrinking", e.ns).WithData(map[string]string{"keep": "1"}),
		metav1.ApplyOptions{FieldManager: "shrinker"})
	ok(g, err, "the second apply")
	got, err := e.client.CoreV1().ConfigMaps(e.ns).Get(ctx, "shrinking", metav1.GetOptions{})
	ok(g, err, "reading the ConfigMap")
	g.Expect(got.Data).To(gomega.Equal(map[string]string{"keep": "1"}), "data.drop, left out of the manager's apply, must be removed")
}

func specApplyNeedsManager(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	body := []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: unmanaged\ndata:\n  a: b\n")
	err := e.client.CoreV1().RESTClient().Patch(types.ApplyPatchType).Namespace(e.ns).Resource("configmaps").
		Name("unmanaged").Body(body).Do(ctx).Error()
	expectInvalid(g, err, "an apply without fieldManager", "fieldManager")
	_, err = e.client.CoreV1().ConfigMaps(e.ns).Get(ctx, "unmanaged", metav1.GetOptions{})
	g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "the refused apply must create nothing (Get returned %v)", err)
}

func specManagedFieldsUpdate(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	cm, err := e.client.CoreV1().ConfigMaps(e.ns).Create(ctx, configMap("tracked"), metav1.CreateOptions{FieldManager: "spec-writer"})
	ok(g, err, "creating the ConfigMap")
	cm.Data["k2"] = "v2"
	_, err = e.client.CoreV1().ConfigMaps(e.ns).Update(ctx, cm, metav1.UpdateOptions{FieldManager: "spec-writer"})
	ok(g, err, "updating the ConfigMap")
	got, err := e.client.CoreV1().ConfigMaps(e.ns).Get(ctx, "tracked", metav1.GetOptions{})
	ok(g, err, "reading the ConfigMap")
	entry := managerEntry(got.ManagedFields, "spec-writer", metav1.ManagedFieldsOperationUpdate)
	g.Expect(entry).NotTo(gomega.BeNil(), "managedFields must hold an Update entry of spec-writer, got %+v", got.ManagedFields)
	g.Expect(string(entry.FieldsV1.Raw)).To(gomega.ContainSubstring(`"f:k2"`), "the entry must own the updated data.k2")
	count := 0
	for _, m := range got.ManagedFields {
		if m.Manager == "spec-writer" && m.Operation == metav1.ManagedFieldsOperationUpdate {
			count++
		}
	}
	g.Expect(count).To(gomega.Equal(1), "one Update entry per manager")
}
