package apiserver_test

import (
	"encoding/json"
	"strconv"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

func makePod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
}

func makeDeployment(name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}},
			},
		},
	}
}

func TestCRUD(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	pods := ts.client.CoreV1().Pods("default")

	created, err := pods.Create(ctx, makePod("p1"), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.UID == "" || created.CreationTimestamp.IsZero() || created.Generation != 1 || created.ResourceVersion == "" {
		t.Fatalf("system fields not set: uid=%q ts=%v gen=%d rv=%q", created.UID, created.CreationTimestamp, created.Generation, created.ResourceVersion)
	}
	if created.Status.Phase != corev1.PodPending {
		t.Errorf("phase = %q, want Pending", created.Status.Phase)
	}
	kv, err := ts.store.Get(ctx, "/registry/pods/default/p1")
	if err != nil {
		t.Fatalf("stored key: %v", err)
	}
	if strconv.FormatInt(kv.ModRevision, 10) != created.ResourceVersion {
		t.Errorf("resourceVersion %s != ModRevision %d", created.ResourceVersion, kv.ModRevision)
	}
	var stored corev1.Pod
	if err := json.Unmarshal(kv.Value, &stored); err != nil || stored.Name != "p1" {
		t.Fatalf("stored value is not the pod JSON: %v", err)
	}

	got, err := pods.Get(ctx, "p1", metav1.GetOptions{})
	if err != nil || got.UID != created.UID {
		t.Fatalf("get: %v %v", got, err)
	}
	if _, err := pods.Create(ctx, makePod("p1"), metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Fatalf("duplicate create: want AlreadyExists, got %v", err)
	}
	_, err = pods.Get(ctx, "nope", metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("get missing: %v", err)
	}
	if st := err.(apierrors.APIStatus).Status(); st.Details == nil || st.Details.Name != "nope" || st.Details.Kind != "pods" {
		t.Errorf("NotFound details = %+v", st.Details)
	}

	got.Labels["tier"] = "front"
	updated, err := pods.Update(ctx, got, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if updated.Labels["tier"] != "front" || updated.UID != created.UID || updated.Generation != 1 {
		t.Errorf("update result: labels=%v uid=%v gen=%d", updated.Labels, updated.UID, updated.Generation)
	}
	// A stale resourceVersion conflicts.
	got.Labels["tier"] = "back"
	_, err = pods.Update(ctx, got, metav1.UpdateOptions{})
	if !apierrors.IsConflict(err) {
		t.Fatalf("stale update: want Conflict, got %v", err)
	}
	if msg := err.(apierrors.APIStatus).Status().Message; !contains(msg, "the object has been modified; please apply your changes to the latest version and try again") {
		t.Errorf("conflict message %q", msg)
	}
	// Empty resourceVersion is unconditional.
	got.ResourceVersion = ""
	if _, err := pods.Update(ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("unconditional update: %v", err)
	}

	list, err := pods.List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
	if list.ResourceVersion == "" {
		t.Errorf("list has no resourceVersion")
	}
	if err := pods.Delete(ctx, "p1", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := pods.Get(ctx, "p1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("after delete: %v", err)
	}
	if err := pods.Delete(ctx, "p1", metav1.DeleteOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("second delete: %v", err)
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && indexOf(s, sub) >= 0)
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func TestGenerationMovesOnSpecChangeOnly(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	deps := ts.client.AppsV1().Deployments("default")
	d, err := deps.Create(ctx, makeDeployment("web", 1), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.Labels = map[string]string{"x": "y"}
	d, err = deps.Update(ctx, d, metav1.UpdateOptions{})
	if err != nil || d.Generation != 1 {
		t.Fatalf("metadata-only update: gen=%d err=%v", d.Generation, err)
	}
	d.Spec.Replicas = ptr.To[int32](3)
	d.Status.Replicas = 42 // ignored on the main resource
	d, err = deps.Update(ctx, d, metav1.UpdateOptions{})
	if err != nil || d.Generation != 2 {
		t.Fatalf("spec update: gen=%d err=%v", d.Generation, err)
	}
	if d.Status.Replicas != 0 {
		t.Errorf("main-resource update changed status: %d", d.Status.Replicas)
	}
}

func TestValidationRejectsAndStoresNothing(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	bad := makePod("Bad_Name")
	bad.Spec.Containers[0].Image = ""
	_, err := ts.client.CoreV1().Pods("default").Create(ctx, bad, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Fatalf("want Invalid (422), got %v", err)
	}
	st := err.(apierrors.APIStatus).Status()
	if st.Code != 422 || st.Details == nil || len(st.Details.Causes) < 2 {
		t.Fatalf("status = %+v", st)
	}
	fields := map[string]bool{}
	for _, c := range st.Details.Causes {
		fields[c.Field] = true
	}
	for _, f := range []string{"metadata.name", "spec.containers[0].image"} {
		if !fields[f] {
			t.Errorf("no cause for %s in %+v", f, st.Details.Causes)
		}
	}
	lr, err := ts.store.List(ctx, "/registry/pods/", interfacesListAll())
	if err != nil || len(lr.Items) != 0 {
		t.Fatalf("something was stored: %v %v", lr.Items, err)
	}
}

func TestGenerateName(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	p := makePod("")
	p.GenerateName = "web-"
	a, err := ts.client.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := ts.client.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Name) != len("web-")+5 || a.Name[:4] != "web-" || a.Name == b.Name {
		t.Fatalf("generated names %q %q", a.Name, b.Name)
	}
}

func TestNamespaceMustExist(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	_, err := ts.client.CoreV1().ConfigMaps("missing").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}}, metav1.CreateOptions{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("want NotFound, got %v", err)
	}
	if d := err.(apierrors.APIStatus).Status().Details; d == nil || d.Kind != "namespaces" || d.Name != "missing" {
		t.Errorf("details %+v", d)
	}
	for _, ns := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
		if _, err := ts.client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
			t.Errorf("namespace %s: %v", ns, err)
		}
	}
}

func TestNamespaceDeletionEmptiesAndForbidsCreates(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	nss := ts.client.CoreV1().Namespaces()
	if _, err := nss.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c", Finalizers: []string{"example.com/hold"}}}
	if _, err := ts.client.CoreV1().ConfigMaps("team").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := nss.Delete(ctx, "team", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	ns, err := nss.Get(ctx, "team", metav1.GetOptions{})
	if err != nil || ns.Status.Phase != corev1.NamespaceTerminating || ns.DeletionTimestamp == nil {
		t.Fatalf("namespace after delete: %+v %v", ns, err)
	}
	_, err = ts.client.CoreV1().ConfigMaps("team").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "d"}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("create in terminating namespace: want Forbidden, got %v", err)
	}
	// The held config map keeps the namespace until its finalizer goes.
	eventually(t, "config map marked for deletion", func() bool {
		c, err := ts.client.CoreV1().ConfigMaps("team").Get(ctx, "c", metav1.GetOptions{})
		return err == nil && c.DeletionTimestamp != nil
	})
	patch := []byte(`{"metadata":{"finalizers":null}}`)
	if _, err := ts.client.CoreV1().ConfigMaps("team").Patch(ctx, "c", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "namespace removed", func() bool {
		_, err := nss.Get(ctx, "team", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	if err := nss.Delete(ctx, "default", metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("deleting default: %v", err)
	}
}
