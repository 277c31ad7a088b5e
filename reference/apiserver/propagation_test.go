package apiserver_test

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestDeletePropagationFinalizers: Foreground and Orphan deletes leave the object with the
// matching finalizer and a deletionTimestamp (the garbage collector finishes them); Background
// and no policy delete at once.
func TestDeletePropagationFinalizers(t *testing.T) {
	fg, orphan, bg := metav1.DeletePropagationForeground, metav1.DeletePropagationOrphan, metav1.DeletePropagationBackground
	yes := true
	cases := []struct {
		name          string
		opts          metav1.DeleteOptions
		wantFinalizer string // "" means the object is gone
	}{
		{"foreground", metav1.DeleteOptions{PropagationPolicy: &fg}, metav1.FinalizerDeleteDependents},
		{"orphan", metav1.DeleteOptions{PropagationPolicy: &orphan}, metav1.FinalizerOrphanDependents},
		{"orphanDependents=true", metav1.DeleteOptions{OrphanDependents: &yes}, metav1.FinalizerOrphanDependents},
		{"background", metav1.DeleteOptions{PropagationPolicy: &bg}, ""},
		{"no policy", metav1.DeleteOptions{}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts := newTestServer(t)
			ctx := ctxT(t)
			cms := ts.client.CoreV1().ConfigMaps("default")
			if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "owner"}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := cms.Delete(ctx, "owner", c.opts); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			got, err := cms.Get(ctx, "owner", metav1.GetOptions{})
			if c.wantFinalizer == "" {
				if err == nil {
					t.Fatalf("the object is still there with finalizers %v", got.Finalizers)
				}
				return
			}
			if err != nil {
				t.Fatalf("the object must stay until the finalizer is removed: %v", err)
			}
			if got.DeletionTimestamp == nil || !slices.Equal(got.Finalizers, []string{c.wantFinalizer}) {
				t.Fatalf("deletionTimestamp %v finalizers %v; want a timestamp and [%s]", got.DeletionTimestamp, got.Finalizers, c.wantFinalizer)
			}
			// Removing the finalizer completes the deletion.
			patch := []byte(`{"metadata":{"finalizers":null}}`)
			if _, err := cms.Patch(ctx, "owner", "application/merge-patch+json", patch, metav1.PatchOptions{}); err != nil {
				t.Fatalf("removing the finalizer: %v", err)
			}
			if _, err := cms.Get(ctx, "owner", metav1.GetOptions{}); err == nil {
				t.Fatal("the object outlived its last finalizer")
			}
		})
	}
}
