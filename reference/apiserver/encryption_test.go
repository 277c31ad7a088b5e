package apiserver_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/apiserver/encryption"
	"github.com/clusterkit/clusterkit/reference/apiserver/storage"
	"github.com/clusterkit/clusterkit/reference/store/memory"
)

func key(b byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32)) }

// encryptionConfig lists providers for secrets and configmaps, each "name=provider:key".
func encryptionConfig(t *testing.T, providers ...string) storage.Transformers {
	t.Helper()
	var b strings.Builder
	b.WriteString("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets, configmaps]\n  providers:\n")
	for _, p := range providers {
		if p == "identity" {
			b.WriteString("  - identity: {}\n")
			continue
		}
		var kind, name string
		var k byte
		if _, err := fmt.Sscanf(p, "%s %s %c", &kind, &name, &k); err != nil {
			t.Fatalf("bad provider %q: %v", p, err)
		}
		fmt.Fprintf(&b, "  - %s:\n      keys:\n      - name: %s\n        secret: %s\n", kind, name, key(k))
	}
	tr, err := encryption.Parse([]byte(b.String()))
	if err != nil {
		t.Fatalf("Parse:\n%s\n%v", b.String(), err)
	}
	return tr
}

// restart serves a new API server with other encryption over the same store.
func restartWith(t *testing.T, store *memory.Store, tr storage.Transformers) *testServer {
	t.Helper()
	return newTestServer(t, func(c *apiserver.Config) { c.Encryption = tr }, func(c *apiserver.Config) { c.Store = store })
}

func TestEncryptionAtRest(t *testing.T) {
	for _, provider := range []string{"aescbc", "aesgcm", "secretbox"} {
		t.Run(provider, func(t *testing.T) {
			ctx := ctxT(t)
			store := memory.New()
			ts := restartWith(t, store, encryptionConfig(t, provider+" k1 a"))
			secrets := ts.client.CoreV1().Secrets("default")
			w, err := secrets.Watch(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Stop()
			if _, err := secrets.Create(ctx, secret("s", "topsecretvalue"), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			kv, err := store.Get(ctx, "/registry/secrets/default/s")
			if err != nil {
				t.Fatal(err)
			}
			if want := "k8s:enc:" + provider + ":v1:k1:"; !strings.HasPrefix(string(kv.Value), want) {
				t.Errorf("stored value starts %q, want %q", kv.Value[:min(len(kv.Value), 30)], want)
			}
			if bytes.Contains(kv.Value, []byte("topsecretvalue")) || bytes.Contains(kv.Value, []byte(base64.StdEncoding.EncodeToString([]byte("topsecretvalue")))) {
				t.Errorf("the stored bytes hold the value")
			}
			got, err := secrets.Get(ctx, "s", metav1.GetOptions{})
			if err != nil || string(got.Data["v"]) != "topsecretvalue" {
				t.Fatalf("get: %v %q", err, got.Data["v"])
			}
			list, err := secrets.List(ctx, metav1.ListOptions{})
			if err != nil || len(list.Items) != 1 || string(list.Items[0].Data["v"]) != "topsecretvalue" {
				t.Fatalf("list: %v %+v", err, list)
			}
			select {
			case ev := <-w.ResultChan():
				if ev.Type != watch.Added || string(ev.Object.(*corev1.Secret).Data["v"]) != "topsecretvalue" {
					t.Fatalf("watch event %v %+v", ev.Type, ev.Object)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no watch event")
			}
			// A resource the configuration does not name is stored as it is.
			if _, err := ts.client.CoreV1().Services("default").Create(ctx, &corev1.Service{
				ObjectMeta: metav1.ObjectMeta{Name: "plain"},
				Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}},
			}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			if kv, err := store.Get(ctx, "/registry/services/specs/default/plain"); err == nil && bytes.HasPrefix(kv.Value, []byte("k8s:enc:")) {
				t.Errorf("a Service was encrypted")
			}
			if err := secrets.Delete(ctx, "s", metav1.DeleteOptions{}); err != nil {
				t.Fatalf("delete: %v", err)
			}
		})
	}
}

func secret(name, v string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string][]byte{"v": []byte(v)}}
}

func TestEncryptionKeyRotation(t *testing.T) {
	ctx := ctxT(t)
	store := memory.New()
	// Written in plain text before encryption was turned on.
	ts := restartWith(t, store, nil)
	if _, err := ts.client.CoreV1().Secrets("default").Create(ctx, secret("old", "plainvalue"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	prefix := func(name string) string {
		kv, err := store.Get(ctx, "/registry/secrets/default/"+name)
		if err != nil {
			t.Fatal(err)
		}
		if i := bytes.Index(kv.Value, []byte(":v1:")); i > 0 && bytes.HasPrefix(kv.Value, []byte("k8s:enc:")) {
			rest := kv.Value[i+4:]
			return string(kv.Value[:i+4]) + string(rest[:bytes.IndexByte(rest, ':')+1])
		}
		return "plain"
	}
	// Encryption on with identity kept for reading: old values stay readable; new ones are encrypted.
	ts = restartWith(t, store, encryptionConfig(t, "aescbc k1 a", "identity"))
	secrets := ts.client.CoreV1().Secrets("default")
	if got, err := secrets.Get(ctx, "old", metav1.GetOptions{}); err != nil || string(got.Data["v"]) != "plainvalue" {
		t.Fatalf("reading a plain value: %v", err)
	}
	if _, err := secrets.Create(ctx, secret("new", "v1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if p := prefix("new"); p != "k8s:enc:aescbc:v1:k1:" {
		t.Errorf("new secret stored with %s", p)
	}
	// Rotation: a new key first, the old one still listed; replace every Secret unchanged.
	ts = restartWith(t, store, encryptionConfig(t, "aescbc k2 b", "aescbc k1 a", "identity"))
	secrets = ts.client.CoreV1().Secrets("default")
	list, err := secrets.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range list.Items {
		if _, err := secrets.Update(ctx, &list.Items[i], metav1.UpdateOptions{}); err != nil {
			t.Fatalf("replace %s: %v", list.Items[i].Name, err)
		}
	}
	for _, n := range []string{"old", "new"} {
		if p := prefix(n); p != "k8s:enc:aescbc:v1:k2:" {
			t.Errorf("%s after the rewrite: stored with %s, want key k2", n, p)
		}
	}
	// The old key removed: everything is still readable.
	ts = restartWith(t, store, encryptionConfig(t, "aescbc k2 b"))
	secrets = ts.client.CoreV1().Secrets("default")
	for _, n := range []string{"old", "new"} {
		if _, err := secrets.Get(ctx, n, metav1.GetOptions{}); err != nil {
			t.Errorf("get %s with only k2: %v", n, err)
		}
	}
	// A value under a key no longer configured: a clear 500 naming the key, not garbage.
	ts = restartWith(t, store, encryptionConfig(t, "aescbc k3 c"))
	_, err = ts.client.CoreV1().Secrets("default").Get(ctx, "old", metav1.GetOptions{})
	if !apierrors.IsInternalError(err) || !strings.Contains(err.Error(), `key "k2"`) || !strings.Contains(err.Error(), "aescbc") {
		t.Errorf("reading under a removed key: %v, want a 500 naming aescbc key \"k2\"", err)
	}
	t.Logf("reading under a removed key: %v", err)
	_, err = ts.client.CoreV1().Secrets("default").List(ctx, metav1.ListOptions{})
	if !apierrors.IsInternalError(err) {
		t.Errorf("listing under a removed key: %v, want 500", err)
	}
	// Without any encryption configuration an encrypted value is refused too.
	ts = restartWith(t, store, nil)
	_, err = ts.client.CoreV1().Secrets("default").Get(ctx, "old", metav1.GetOptions{})
	if !apierrors.IsInternalError(err) || !strings.Contains(err.Error(), `key "k2"`) {
		t.Errorf("reading encrypted without configuration: %v", err)
	}
}

func TestEncryptionConfigFile(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/enc/encryption.yaml"
	if err := encryption.EnsureDefault(path); err != nil {
		t.Fatal(err)
	}
	tr, err := encryption.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if tr.For(corev1.Resource("secrets")) == nil || tr.For(corev1.Resource("configmaps")) != nil {
		t.Errorf("default configuration: secrets %v configmaps %v", tr.For(corev1.Resource("secrets")), tr.For(corev1.Resource("configmaps")))
	}
	for _, bad := range []string{
		"apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n  - aescbc:\n      keys:\n      - name: k\n        secret: c2hvcnQ=\n",
		"apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources: []\n",
		"apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n  - kms:\n      apiVersion: v2\n      name: x\n      endpoint: unix:///x\n",
	} {
		if _, err := encryption.Parse([]byte(bad)); err == nil {
			t.Errorf("accepted:\n%s", bad)
		}
	}
	// Wildcards: *.* covers everything.
	tr, err = encryption.Parse([]byte("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: ['*.*']\n  providers:\n  - secretbox:\n      keys:\n      - name: k\n        secret: " + key('z') + "\n"))
	if err != nil || tr.For(corev1.Resource("configmaps")) == nil {
		t.Errorf("*.*: %v", err)
	}
}
