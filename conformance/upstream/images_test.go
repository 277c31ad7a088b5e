package upstream

import (
	"archive/tar"
	"context"
	"io"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// layerEntries lists an image's single layer: name → header, and the
// content of /etc/passwd.
func layerEntries(t *testing.T, img v1.Image) (map[string]*tar.Header, string) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %v, %d", err, len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out := map[string]*tar.Header{}
	passwd := ""
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out, passwd
		}
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = h
		if h.Name == "etc/passwd" {
			b, _ := io.ReadAll(tr)
			passwd = string(b)
		}
	}
}

func TestBuildImages(t *testing.T) {
	if why := ImageDeps(); why != "" {
		t.Skip(why)
	}
	// A dynamically linked program stands in for agnhost: its libraries
	// must come along.
	imgs, err := BuildImages(context.Background(), ImageOptions{Agnhost: hostCurl})
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{AgnhostImage, AgnhostPrevImage, BusyboxImage, NginxImage, NginxNewImage, PauseImage} {
		if imgs[ref] == nil {
			t.Errorf("no image %s", ref)
		}
	}
	agn, passwd := layerEntries(t, imgs[AgnhostImage])
	for _, name := range []string{"agnhost", "usr/bin/nc", "usr/bin/curl", "bin/busybox", "bin/sh", "lib64/ld-linux-x86-64.so.2"} {
		if agn[name] == nil {
			t.Errorf("agnhost image has no %s", name)
		}
	}
	libc := false
	for name := range agn {
		libc = libc || strings.HasSuffix(name, "/libc.so.6")
	}
	if !libc {
		t.Error("agnhost image has no libc for its dynamic programs")
	}
	if !strings.Contains(passwd, ":1000:") {
		t.Errorf("agnhost image has no user 1000: %q", passwd)
	}
	if h := agn["bin/nc"]; h != nil && h.Typeflag == tar.TypeSymlink && h.Linkname == "/bin/busybox" {
		t.Error("busybox's nc applet shadows openbsd netcat")
	}
	if h := agn["bin/sh"]; h == nil || h.Typeflag == tar.TypeSymlink {
		t.Error("agnhost's /bin/sh is busybox's shell, which runs its nc applet before openbsd netcat in PATH")
	}
	cf, err := imgs[AgnhostImage].ConfigFile()
	if err != nil || len(cf.Config.Entrypoint) != 1 || cf.Config.Entrypoint[0] != "/agnhost" {
		t.Errorf("agnhost entrypoint %v (%v)", cf.Config.Entrypoint, err)
	}
	if cf, _ := imgs[NginxImage].ConfigFile(); cf == nil || !strings.Contains(strings.Join(cf.Config.Entrypoint, " "), "--http-port=80") {
		t.Errorf("nginx image does not serve port 80: %+v", cf)
	}
	bb, _ := layerEntries(t, imgs[BusyboxImage])
	if bb["bin/sh"] == nil || bb["bin/busybox"] == nil {
		t.Error("busybox image has no shell")
	}
	if cf, _ := imgs[BusyboxImage].ConfigFile(); cf == nil || len(cf.Config.Cmd) != 1 || cf.Config.Cmd[0] != "sh" {
		t.Errorf("busybox command %+v", cf)
	}
	pause, _ := layerEntries(t, imgs[PauseImage])
	if pause["pause"] == nil {
		t.Error("pause image has no /pause")
	}
	a1, _ := imgs[AgnhostImage].Digest()
	a2, _ := imgs[AgnhostPrevImage].Digest()
	if a1 != a2 {
		t.Error("the two agnhost tags are different images")
	}
}
