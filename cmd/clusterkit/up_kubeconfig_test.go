package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/clusterkit/clusterkit/cri/containerd"
	"github.com/clusterkit/clusterkit/cri/images"
	"github.com/clusterkit/clusterkit/reference/kubeconfigext"
)

func TestUpRuntimeSocket(t *testing.T) {
	for _, tc := range []struct {
		name    string
		runtime string
		nodes   int
		want    []string
	}{
		{"simulated", "sim", 1, nil},
		{"private containerd, recorded once it runs", privateContainerd, 1, nil},
		{"CRI socket", "unix:///run/containerd/containerd.sock", 2, []string{"/run/containerd/containerd.sock"}},
		{"socket path", "/run/containerd/containerd.sock", 1, []string{"/run/containerd/containerd.sock"}},
		{"no nodes", "unix:///run/containerd/containerd.sock", 0, nil},
		{"not a unix socket", "tcp://127.0.0.1:1234", 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := upRuntimeSocket(&upOptions{runtime: tc.runtime, nodes: tc.nodes}); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("upRuntimeSocket(%q, %d nodes) = %q, want %q", tc.runtime, tc.nodes, got, tc.want)
			}
		})
	}
}

// TestUpKubeconfigRecordsAGivenSocket checks the kubeconfig `up` writes: nothing recorded with
// the simulated runtime, the socket of --runtime unix:///path as soon as it is written.
func TestUpKubeconfigRecordsAGivenSocket(t *testing.T) {
	dir := t.TempDir()
	o := &upOptions{dataDir: filepath.Join(dir, "data"), kubeconfig: filepath.Join(dir, "kubeconfig"), port: 0,
		nodes: 1, runtime: "sim"}
	_, stop := startUp(t, o)
	stop()
	if addrs, err := kubeconfigext.ContainerdAddresses(o.kubeconfig); err != nil || len(addrs) != 0 {
		t.Errorf("the simulated runtime's kubeconfig records %q (%v); want nothing", addrs, err)
	}

	socket := filepath.Join(dir, "cri.sock") // nothing listens: the nodes never start
	o.runtime = "unix://" + socket
	client, stop := startUp(t, o)
	defer stop()
	if _, err := client.Discovery().ServerVersion(); err != nil {
		t.Fatal(err)
	}
	info, ok, err := kubeconfigext.Load(o.kubeconfig)
	want := kubeconfigext.Cluster{Kind: kubeconfigext.KindUp, DataDir: o.dataDir, ContainerdAddresses: []string{socket}}
	if err != nil || !ok || !reflect.DeepEqual(info, want) {
		t.Errorf("kubeconfig records %+v (ok %v, %v); want %+v", info, ok, err, want)
	}
}

// TestUpContainerdRecordsItsSocket runs `up --runtime containerd` and checks that its
// kubeconfig comes to record the private containerd's socket, and that an image archive
// imported at that address is there (what `conformance upstream` does with it).
func TestUpContainerdRecordsItsSocket(t *testing.T) {
	if err := containerd.Available(); err != nil {
		fmt.Printf("skipping TestUpContainerdRecordsItsSocket: real containers unavailable: %v\n", err)
		t.Skipf("real containers unavailable: %v", err)
	}
	dir := t.TempDir()
	o := &upOptions{dataDir: filepath.Join(dir, "data"), kubeconfig: filepath.Join(dir, "kubeconfig"), port: 0,
		nodes: 1, runtime: privateContainerd, proxy: false}
	_, stop := startUp(t, o)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	var addrs []string
	deadline := time.Now().Add(30 * time.Second)
	for len(addrs) == 0 {
		var err error
		if addrs, err = kubeconfigext.ContainerdAddresses(o.kubeconfig); err != nil {
			t.Fatal(err)
		}
		if len(addrs) == 0 && time.Now().After(deadline) {
			b, _ := os.ReadFile(o.kubeconfig)
			t.Fatalf("the kubeconfig never recorded the containerd:\n%s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(addrs) != 1 || !filepath.IsAbs(addrs[0]) || filepath.Base(addrs[0]) != "containerd.sock" {
		t.Fatalf("recorded %q; want the private containerd's socket", addrs)
	}
	if fi, err := os.Stat(addrs[0]); err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("recorded %s is not a socket: %v", addrs[0], err)
	}

	img, err := images.Compose(images.Spec{Files: []images.File{{Path: "/hello", Data: []byte("hello\n")}}})
	if err != nil {
		t.Fatal(err)
	}
	const ref = "example.invalid/clusterkit/recorded:1"
	var archive bytes.Buffer
	if err := images.WriteOCIArchive(&archive, map[string]v1.Image{ref: img}); err != nil {
		t.Fatal(err)
	}
	names, err := containerd.ImportTo(ctx, addrs[0], &archive)
	if err != nil {
		t.Fatalf("importing into the recorded containerd: %v", err)
	}
	if !slices.Contains(names, ref) {
		t.Errorf("imported %q; want %s", names, ref)
	}
}
