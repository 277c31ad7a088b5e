package kindlab

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// An image a loopback registry serves is pulled into an archive naming it as containerd does.
func TestImageArchiveOfPullsFromALoopbackRegistry(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/team/app:v1"
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	archive, err := ImageArchiveOf(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			t.Fatal("the archive has no index.json")
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == "index.json" {
			b, _ := io.ReadAll(tr)
			if !strings.Contains(string(b), `"io.containerd.image.name":"`+ref+`"`) {
				t.Fatalf("index.json does not name %s: %s", ref, b)
			}
			return
		}
	}
}

func TestContainerdNames(t *testing.T) {
	for in, want := range map[string]string{
		"nginx:1.27":              "docker.io/library/nginx:1.27",
		"example.com/team/app:v2": "example.com/team/app:v2",
		"127.0.0.1:5000/app":      "127.0.0.1:5000/app:latest",
		"localhost:5000/app@sha256:" + strings.Repeat("a", 64): "localhost:5000/app@sha256:" + strings.Repeat("a", 64),
	} {
		r, err := name.ParseReference(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := containerdName(r); got != want {
			t.Errorf("containerdName(%s) = %s, want %s", in, got, want)
		}
	}
	if !loopbackRegistry("127.0.0.1:5000/app") || !loopbackRegistry("localhost:5000/x") || loopbackRegistry("example.com/app") || loopbackRegistry("nginx") {
		t.Error("loopbackRegistry: want loopback hosts only")
	}
}
