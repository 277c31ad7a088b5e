package apiserver_test

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

func TestStatusSubresourceIsolation(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	deps := ts.client.AppsV1().Deployments("default")
	d, err := deps.Create(ctx, makeDeployment("web", 2), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A status write changes status only.
	d.Status.Replicas = 2
	d.Status.ObservedGeneration = 1
	d.Spec.Replicas = ptr.To[int32](9)
	d, err = deps.UpdateStatus(ctx, d, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Status.Replicas != 2 || *d.Spec.Replicas != 2 || d.Generation != 1 {
		t.Fatalf("after status update: status.replicas=%d spec.replicas=%d gen=%d", d.Status.Replicas, *d.Spec.Replicas, d.Generation)
	}
	// A main write leaves status alone.
	d.Status.Replicas = 7
	d.Spec.Replicas = ptr.To[int32](3)
	d, err = deps.Update(ctx, d, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Status.Replicas != 2 || *d.Spec.Replicas != 3 || d.Generation != 2 {
		t.Fatalf("after main update: status.replicas=%d spec.replicas=%d gen=%d", d.Status.Replicas, *d.Spec.Replicas, d.Generation)
	}
	// Pod status patch.
	pods := ts.client.CoreV1().Pods("default")
	if _, err := pods.Create(ctx, makePod("p"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p, err := pods.Patch(ctx, "p", types.MergePatchType, []byte(`{"status":{"phase":"Running","podIP":"10.0.0.5"},"spec":{"nodeName":"sneaky"}}`), metav1.PatchOptions{}, "status")
	if err != nil {
		t.Fatal(err)
	}
	if p.Status.Phase != corev1.PodRunning || p.Spec.NodeName != "" {
		t.Fatalf("pod status patch: phase=%s nodeName=%q", p.Status.Phase, p.Spec.NodeName)
	}
	l, err := pods.List(ctx, metav1.ListOptions{FieldSelector: "status.podIP=10.0.0.5"})
	if err != nil || len(l.Items) != 1 {
		t.Fatalf("select by podIP: %v %v", l, err)
	}
}

func TestScaleSubresource(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	deps := ts.client.AppsV1().Deployments("default")
	if _, err := deps.Create(ctx, makeDeployment("web", 2), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sc, err := deps.GetScale(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sc.Spec.Replicas != 2 || sc.Status.Selector != "app=web" {
		t.Fatalf("scale = %+v", sc)
	}
	sc.Spec.Replicas = 4
	if _, err := deps.UpdateScale(ctx, "web", sc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Stale scale resourceVersion conflicts.
	if _, err := deps.UpdateScale(ctx, "web", sc, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Fatalf("stale scale update: %v", err)
	}
	res := ts.client.AppsV1().RESTClient().Patch(types.MergePatchType).Namespace("default").Resource("deployments").
		Name("web").SubResource("scale").Body([]byte(`{"spec":{"replicas":6}}`)).Do(ctx)
	out := &autoscalingv1.Scale{}
	if err := res.Into(out); err != nil || out.Spec.Replicas != 6 {
		t.Fatalf("scale patch: %+v %v", out, err)
	}
	d, _ := deps.Get(ctx, "web", metav1.GetOptions{})
	if *d.Spec.Replicas != 6 || d.Generation != 3 {
		t.Fatalf("deployment after scale: replicas=%d gen=%d", *d.Spec.Replicas, d.Generation)
	}
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "rs"}, Spec: appsv1.ReplicaSetSpec{
		Replicas: ptr.To[int32](1), Selector: d.Spec.Selector, Template: d.Spec.Template}}
	if _, err := ts.client.AppsV1().ReplicaSets("default").Create(ctx, rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rsc, err := ts.client.AppsV1().ReplicaSets("default").GetScale(ctx, "rs", metav1.GetOptions{})
	if err != nil || rsc.Spec.Replicas != 1 {
		t.Fatalf("replicaset scale: %+v %v", rsc, err)
	}
}

func TestBindingAndEviction(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	pods := ts.client.CoreV1().Pods("default")
	if _, err := pods.Create(ctx, makePod("p"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Target: corev1.ObjectReference{Kind: "Node", Name: "n1"}}
	if err := pods.Bind(ctx, b, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p, _ := pods.Get(ctx, "p", metav1.GetOptions{})
	if p.Spec.NodeName != "n1" {
		t.Fatalf("nodeName = %q", p.Spec.NodeName)
	}
	b.Target.Name = "n2"
	if err := pods.Bind(ctx, b, metav1.CreateOptions{}); !apierrors.IsConflict(err) {
		t.Fatalf("second bind: want Conflict, got %v", err)
	}
	// Legacy bindings collection.
	if _, err := pods.Create(ctx, makePod("q"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err := ts.client.CoreV1().RESTClient().Post().Namespace("default").Resource("bindings").
		Body(&corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "q"}, Target: corev1.ObjectReference{Kind: "Node", Name: "n2"}}).Do(ctx).Error()
	if err != nil {
		t.Fatal(err)
	}
	// Eviction deletes gracefully (the pod is bound).
	ev := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"}}
	if err := pods.EvictV1(ctx, ev); err != nil {
		t.Fatal(err)
	}
	p, err = pods.Get(ctx, "p", metav1.GetOptions{})
	if err != nil || p.DeletionTimestamp == nil {
		t.Fatalf("evicted bound pod should be terminating: %v %v", p, err)
	}
}

func TestGracefulPodDeletion(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	pods := ts.client.CoreV1().Pods("default")
	cases := []struct {
		name      string
		node      string
		phase     corev1.PodPhase
		grace     *int64
		immediate bool
		wantGrace int64
	}{
		{name: "unbound pod goes at once", immediate: true},
		{name: "bound pod waits for the kubelet", node: "n1", wantGrace: 30},
		{name: "grace from options", node: "n1", grace: ptr.To[int64](5), wantGrace: 5},
		{name: "grace zero is immediate", node: "n1", grace: ptr.To[int64](0), immediate: true},
		{name: "terminal pod goes at once", node: "n1", phase: corev1.PodSucceeded, immediate: true},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := "g" + string(rune('a'+i))
			p := makePod(name)
			p.Spec.NodeName = tc.node
			if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			if tc.phase != "" {
				cur, _ := pods.Get(ctx, name, metav1.GetOptions{})
				cur.Status.Phase = tc.phase
				if _, err := pods.UpdateStatus(ctx, cur, metav1.UpdateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			if err := pods.Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: tc.grace}); err != nil {
				t.Fatal(err)
			}
			got, err := pods.Get(ctx, name, metav1.GetOptions{})
			if tc.immediate {
				if !apierrors.IsNotFound(err) {
					t.Fatalf("want gone, got %v %v", got, err)
				}
				return
			}
			if err != nil || got.DeletionTimestamp == nil || got.DeletionGracePeriodSeconds == nil || *got.DeletionGracePeriodSeconds != tc.wantGrace {
				t.Fatalf("want terminating with grace %d, got %+v %v", tc.wantGrace, got.ObjectMeta, err)
			}
			// The kubelet confirms with grace 0.
			if err := pods.Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
				t.Fatal(err)
			}
			if _, err := pods.Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Fatalf("after grace-0 delete: %v", err)
			}
		})
	}
}

func TestFinalizers(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	cms := ts.client.CoreV1().ConfigMaps("default")
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "held", Finalizers: []string{"example.com/a"},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "owner", UID: "u-1"}}}}
	if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(ctx, "held", metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)}); err != nil {
		t.Fatal(err)
	}
	got, err := cms.Get(ctx, "held", metav1.GetOptions{})
	if err != nil || got.DeletionTimestamp == nil || len(got.OwnerReferences) != 1 {
		t.Fatalf("want kept with deletionTimestamp and owner refs: %+v %v", got, err)
	}
	got.Finalizers = nil
	if _, err := cms.Update(ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Get(ctx, "held", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("removing the last finalizer should delete: %v", err)
	}
	// Preconditions.
	c2, _ := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "pre"}}, metav1.CreateOptions{})
	err = cms.Delete(ctx, "pre", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: ptr.To(types.UID("other"))}})
	if !apierrors.IsConflict(err) {
		t.Fatalf("uid precondition: %v", err)
	}
	if err := cms.Delete(ctx, "pre", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &c2.ResourceVersion}}); err != nil {
		t.Fatal(err)
	}
}
