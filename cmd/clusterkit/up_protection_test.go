package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestUpProtection: up encrypts Secrets in etcd's files with a key it keeps in the data dir,
// and enforces Pod Security baseline where a namespace says nothing.
func TestUpProtection(t *testing.T) {
	if testing.Short() {
		t.Skip("starts embedded etcd twice")
	}
	dir := t.TempDir()
	o := &upOptions{dataDir: filepath.Join(dir, "data"), kubeconfig: filepath.Join(dir, "kubeconfig"), port: 0, podSecurity: defaultPodSecurity}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	const value = "up-protection-plaintext-4b1d"
	client, stop := startUp(t, o)
	_, err := client.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "s"}, Data: map[string][]byte{"v": []byte(value)},
	}, metav1.CreateOptions{})
	if err != nil {
		stop()
		t.Fatal(err)
	}
	_, err = client.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "priv"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox",
			SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)}}}},
	}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `violates PodSecurity "baseline:latest"`) {
		t.Errorf("a privileged pod in default: %v, want 403 baseline", err)
	}
	stop()

	info, err := os.Stat(filepath.Join(o.dataDir, encryptionConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", encryptionConfigFile, info.Mode().Perm())
	}
	forms := [][]byte{[]byte(value), []byte(base64.StdEncoding.EncodeToString([]byte(value)))}
	found := false
	err = filepath.WalkDir(o.dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, f := range forms {
			if bytes.Contains(data, f) {
				t.Errorf("%s holds the Secret's value", path)
			}
		}
		if bytes.Contains(data, []byte("k8s:enc:aescbc:v1:key1:")) {
			found = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Errorf("no file of the data dir holds an aescbc-encrypted value")
	}

	client, stop = startUp(t, o)
	defer stop()
	got, err := client.CoreV1().Secrets("default").Get(ctx, "s", metav1.GetOptions{})
	if err != nil || string(got.Data["v"]) != value {
		t.Fatalf("after restart: %v %q", err, got.Data["v"])
	}
}
