package storage_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterkit/clusterkit/reference/apiserver/storage"
	"github.com/clusterkit/clusterkit/reference/store/memory"
)

// TestCacheReadsItsOwnWrites: a cache answers every write made through its Objects as soon
// as the write returns (creates, updates, deletes), and the writes of another Objects over
// the same store (another API server) once its watch delivers them.
func TestCacheReadsItsOwnWrites(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	kv := memory.New()
	o, other := storage.New(kv), storage.New(kv)
	res := configMaps(t)
	createCM(ctx, t, o, res, "a", "before") // listed when the cache starts
	c := o.Cache(res)
	get := func(name string) (runtime.Object, bool, bool) { return c.Get("a", name) }
	eventually := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 10 s", what)
			}
		}
	}
	eventually("the cache lists", func() bool { _, _, synced := get("before"); return synced })
	if _, found, _ := get("before"); !found {
		t.Fatal("an object created before the cache started is not in its list")
	}
	for i := 0; i < 50; i++ {
		createCM(ctx, t, o, res, "a", "mine")
		if _, found, _ := get("mine"); !found {
			t.Fatalf("round %d: the cache does not have the object just created through its Objects", i)
		}
		if _, err := o.Update(ctx, res, "a", "mine", func(obj runtime.Object) (runtime.Object, error) {
			obj.(*corev1.ConfigMap).Data = map[string]string{"k": "v"}
			return obj, nil
		}); err != nil {
			t.Fatal(err)
		}
		if obj, _, _ := get("mine"); obj == nil || obj.(*corev1.ConfigMap).Data["k"] != "v" {
			t.Fatalf("round %d: the cache does not have the update just made: %v", i, obj)
		}
		if _, err := o.Delete(ctx, res, "a", "mine", 0); err != nil {
			t.Fatal(err)
		}
		if _, found, _ := get("mine"); found {
			t.Fatalf("round %d: the cache still has the object just deleted", i)
		}
	}
	createCM(ctx, t, other, res, "a", "theirs")
	eventually("another server's create reaches the cache", func() bool { _, found, _ := get("theirs"); return found })
	if _, err := other.Delete(ctx, res, "a", "theirs", 0); err != nil {
		t.Fatal(err)
	}
	eventually("another server's delete reaches the cache", func() bool { _, found, _ := get("theirs"); return !found })
	// A name deleted and created again is found again (its tombstone is older).
	createCM(ctx, t, o, res, "a", "mine")
	if _, found, _ := get("mine"); !found {
		t.Fatal("an object created again after its delete is not in the cache")
	}
}
