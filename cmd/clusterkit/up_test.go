package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// syncBuffer is a goroutine-safe progress sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startUp runs `up` until the returned stop function is called and returns a client for it.
func startUp(t *testing.T, o *upOptions) (kubernetes.Interface, func()) {
	t.Helper()
	_ = os.Remove(o.kubeconfig)
	ctx, cancel := context.WithCancel(context.Background())
	log := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- runUp(ctx, o, log) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(o.kubeconfig); err == nil {
			break
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("up exited early: %v\n%s", err, log.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("kubeconfig never written\n%s", log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	client := kubernetes.NewForConfigOrDie(cfg)
	// ServiceAccount admission refuses pods until the serviceaccount controller has made the
	// namespace's default ServiceAccount: wait for it in default, as a user of a fresh
	// kubeadm cluster does.
	if len(o.controllers) != 1 || o.controllers[0] != "none" {
		for {
			_, err := client.CoreV1().ServiceAccounts("default").Get(context.Background(), "default", metav1.GetOptions{})
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				cancel()
				t.Fatalf("no default ServiceAccount in default: %v\n%s", err, log.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return client, func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("up returned %v\n%s", err, log.String())
			}
		case <-time.After(30 * time.Second):
			t.Errorf("up did not shut down\n%s", log.String())
		}
		t.Logf("up progress:\n%s", log.String())
	}
}

func TestUpKeepsObjectsAcrossRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts embedded etcd twice")
	}
	dir := t.TempDir()
	o := &upOptions{dataDir: filepath.Join(dir, "data"), kubeconfig: filepath.Join(dir, "kubeconfig"), port: 0}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	client, stop := startUp(t, o)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "keep"}, Data: map[string]string{"k": "v"}}
	created, err := client.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{})
	if err != nil {
		stop()
		t.Fatal(err)
	}
	stop()

	client, stop = startUp(t, o)
	defer stop()
	got, err := client.CoreV1().ConfigMaps("default").Get(ctx, "keep", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("after restart: %v", err)
	}
	if got.UID != created.UID || got.Data["k"] != "v" {
		t.Fatalf("object changed across restart: %+v", got)
	}
	if _, err := client.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{}); err != nil {
		t.Fatalf("system namespace: %v", err)
	}
}
