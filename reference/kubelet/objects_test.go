package kubelet

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
)

func TestPodObjectKeys(t *testing.T) {
	pod := volumePod()
	pod.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "env-s"}}}}
	pod.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Env: []corev1.EnvVar{
		{Name: "A", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "env-cm"}, Key: "a"}}},
	}}}}
	secrets, configMaps := podObjectKeys(pod)
	if want := []objectKey{{"ns", "s"}, {"ns", "env-s"}}; !slices.Equal(secrets, want) {
		t.Errorf("secrets %v, want %v", secrets, want)
	}
	// cm is used by a volume and a projected source: watched once.
	if want := []objectKey{{"ns", "cm"}, {"ns", "env-cm"}}; !slices.Equal(configMaps, want) {
		t.Errorf("configMaps %v, want %v", configMaps, want)
	}
}

// countGets counts the client's GETs of configmaps.
func countGets(client *fake.Clientset) int {
	n := 0
	for _, a := range client.Actions() {
		if a.GetVerb() == "get" && a.GetResource().Resource == "configmaps" {
			n++
		}
	}
	return n
}

func TestObjectCache(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	k, client, clock := volumeKubelet(t)
	k.secrets, k.configMaps = newSecretCache(client, t.Logf), newConfigMapCache(client, t.Logf)
	pod := volumePod()
	k.registerPodObjects(ctx, pod)
	w := newPodWorker(k, pod, false)
	if err := w.syncVolumes(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if n := countGets(client); n != 0 {
		t.Errorf("%d ConfigMap GETs for a registered pod, want none (served from the watch)", n)
	}
	var watches []string
	for _, a := range client.Actions() {
		if wa, ok := a.(k8stesting.WatchAction); ok {
			watches = append(watches, a.GetResource().Resource+" "+a.GetNamespace()+" "+wa.GetWatchRestrictions().Fields.String())
		}
	}
	slices.Sort(watches)
	if want := []string{"configmaps ns metadata.name=cm", "secrets ns metadata.name=s"}; !slices.Equal(watches, want) {
		t.Errorf("watches %v, want %v", watches, want)
	}
	if read(t, w.volumeDirs["conf"]+"/dir/mode") != "fast" {
		t.Error("configMap volume content")
	}

	// A change reaches the volume at the next re-sync, through the watch.
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Namespace: "ns"}, Data: map[string]string{"ca.crt": "CA", "mode": "slow"}}
	if _, err := client.CoreV1().ConfigMaps("ns").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the update in the cache", func() bool {
		got, err := k.configMap(ctx, "ns", "cm")
		return err == nil && got.Data["mode"] == "slow"
	})
	clock.Step(defaultVolumeResync)
	if err := w.syncVolumes(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if got := read(t, w.volumeDirs["conf"]+"/dir/mode"); got != "slow" {
		t.Errorf("after the update the volume holds %q", got)
	}

	// A deleted object is NotFound; an optional one empties the volume.
	if err := client.CoreV1().ConfigMaps("ns").Delete(ctx, "cm", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the deletion in the cache", func() bool {
		_, err := k.configMap(ctx, "ns", "cm")
		return apierrors.IsNotFound(err)
	})
	pod.Spec.Volumes[2].ConfigMap.Optional = ptr.To(true)
	pod.Spec.Volumes[4].Projected.Sources[1].ConfigMap.Optional = ptr.To(true)
	clock.Step(defaultVolumeResync)
	if err := w.syncVolumes(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if _, err := os.ReadFile(w.volumeDirs["conf"] + "/dir/mode"); err == nil {
		t.Error("an optional ConfigMap's deletion left its file")
	}
	if n := countGets(client); n != 0 {
		t.Errorf("%d ConfigMap GETs, want none", n)
	}

	// Once the pod goes, its objects are no longer watched: reads fall back to GETs.
	k.unregisterPodObjects(pod.UID)
	if len(k.configMaps.items) != 0 || len(k.secrets.items) != 0 || len(k.configMaps.pods) != 0 {
		t.Errorf("still watched after the pod went: %v %v", k.configMaps.items, k.secrets.items)
	}
	if _, err := k.configMap(ctx, "ns", "cm"); !apierrors.IsNotFound(err) {
		t.Errorf("read of a deleted, unwatched ConfigMap: %v", err)
	}
	if n := countGets(client); n != 1 {
		t.Errorf("%d ConfigMap GETs after the pod went, want 1", n)
	}
}

func TestObjectCacheSharedReferences(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := fake.NewClientset()
	c := newConfigMapCache(client, t.Logf)
	a, b := objectKey{"ns", "a"}, objectKey{"ns", "b"}
	c.register(ctx, "pod-1", []objectKey{a})
	c.register(ctx, "pod-2", []objectKey{a, b})
	if c.items[a].refs != 2 || c.items[b].refs != 1 {
		t.Fatalf("refs a=%d b=%d, want 2 and 1", c.items[a].refs, c.items[b].refs)
	}
	first := c.items[a]
	// Re-registering the same references changes nothing; dropping one releases it.
	c.register(ctx, "pod-2", []objectKey{a})
	if c.items[a] != first || c.items[a].refs != 2 || c.items[b] != nil {
		t.Fatalf("after pod-2 dropped b: a=%+v b=%+v", c.items[a], c.items[b])
	}
	c.unregister("pod-1")
	if c.items[a] != first || first.refs != 1 || first.ctx.Err() != nil {
		t.Fatal("a stopped while pod-2 references it")
	}
	c.unregister("pod-2")
	if c.items[a] != nil || first.ctx.Err() == nil {
		t.Fatal("a still watched with no pod referencing it")
	}
	// A watch whose context ended (an earlier Run) is started again.
	old, stop := context.WithCancel(ctx)
	c.register(old, "pod-3", []objectKey{a})
	stop()
	c.register(ctx, "pod-4", []objectKey{a})
	if it := c.items[a]; it.ctx.Err() != nil || it.refs != 2 {
		t.Fatalf("after a restart: stopped %v, refs %d", it.ctx.Err(), it.refs)
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
