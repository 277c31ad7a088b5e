package images

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestComposeLayerAndConfig(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "prog")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := Spec{
		Files:      []File{{Path: "/usr/local/bin/prog", From: bin}, {Path: "/etc/motd", Data: []byte("hi")}},
		Symlinks:   map[string]string{"/bin/sh": "/usr/local/bin/prog"},
		Passwd:     []string{"app:x:1000:1000::/:/bin/sh"},
		Entrypoint: []string{"/usr/local/bin/prog"}, Cmd: []string{"serve"}, User: "1000",
	}
	img, err := Compose(spec)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Compose(spec)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("the same spec gave two digests: %s, %s", d1, d2)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "1000" || len(cf.Config.Entrypoint) != 1 || cf.Config.Cmd[0] != "serve" {
		t.Errorf("config %+v", cf.Config)
	}
	layers, _ := img.Layers()
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	entries := map[string]*tar.Header{}
	contents := map[string]string{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		entries[h.Name] = h
		b, _ := io.ReadAll(tr)
		contents[h.Name] = string(b)
	}
	for name, typ := range map[string]byte{"usr/": tar.TypeDir, "usr/local/bin/": tar.TypeDir, "usr/local/bin/prog": tar.TypeReg,
		"bin/sh": tar.TypeSymlink, "etc/passwd": tar.TypeReg, "tmp/": tar.TypeDir} {
		h, ok := entries[name]
		if !ok || h.Typeflag != typ {
			t.Errorf("entry %s: %+v", name, h)
		}
	}
	if entries["usr/local/bin/prog"].Mode != 0o755 || entries["bin/sh"].Linkname != "/usr/local/bin/prog" {
		t.Errorf("prog mode %o, sh link %q", entries["usr/local/bin/prog"].Mode, entries["bin/sh"].Linkname)
	}
	if contents["etc/motd"] != "hi" || contents["etc/passwd"] == "" {
		t.Errorf("motd %q passwd %q", contents["etc/motd"], contents["etc/passwd"])
	}
}

func TestWithLibrariesOfAStaticProgram(t *testing.T) {
	dir := t.TempDir()
	bin, err := BuildBinary(context.Background(), BuildOptions{}, PauseProgram, dir)
	if err != nil {
		t.Fatal(err)
	}
	files, err := WithLibraries(context.Background(), bin, "/pause")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].Path != "/pause" {
		t.Errorf("a static binary needs no libraries, got %+v", files)
	}
}

func TestWithLibrariesOfADynamicProgram(t *testing.T) {
	const sh = "/bin/sh"
	if _, err := os.Stat(sh); err != nil {
		t.Skip("no /bin/sh")
	}
	files, err := WithLibraries(context.Background(), sh, "/bin/sh")
	if err != nil {
		t.Skipf("ldd unavailable: %v", err)
	}
	if files[0].Path != "/bin/sh" {
		t.Fatalf("first file %+v", files[0])
	}
	libc := false
	for _, f := range files[1:] {
		if filepath.Base(f.Path) == "libc.so.6" {
			libc = true
		}
	}
	if !libc {
		t.Errorf("no libc among %+v", files)
	}
}

// TestWithProgramSharesTheBase: images of several programs of one multi-call binary keep the
// base's layer (same digest: stored once) and add a layer holding only the symlink, with the
// program's name as entrypoint.
func TestWithProgramSharesTheBase(t *testing.T) {
	base, err := Compose(Spec{Files: []File{{Path: "/usr/local/bin/multi", Data: []byte("binary"), Mode: 0o755}}, Entrypoint: []string{"/usr/local/bin/multi"}, Cmd: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	baseLayers, _ := base.Layers()
	baseDigest, _ := baseLayers[0].Digest()
	for _, name := range []string{"pause", "ckimage"} {
		img, err := WithProgram(base, name, "/usr/local/bin/multi")
		if err != nil {
			t.Fatal(err)
		}
		layers, err := img.Layers()
		if err != nil || len(layers) != 2 {
			t.Fatalf("%s: %d layers (%v), want the base's and one more", name, len(layers), err)
		}
		if d, _ := layers[0].Digest(); d != baseDigest {
			t.Errorf("%s: first layer %s, want the base's %s", name, d, baseDigest)
		}
		rc, err := layers[1].Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		h, err := tr.Next()
		if err != nil || h.Typeflag != tar.TypeSymlink || h.Name != name || h.Linkname != "/usr/local/bin/multi" {
			t.Errorf("%s: layer entry %+v (%v), want the symlink %s → /usr/local/bin/multi", name, h, err, name)
		}
		if _, err := tr.Next(); err != io.EOF {
			t.Errorf("%s: the program's layer holds more than its symlink", name)
		}
		_ = rc.Close()
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if len(cf.Config.Entrypoint) != 1 || cf.Config.Entrypoint[0] != "/"+name || len(cf.Config.Cmd) != 0 {
			t.Errorf("%s: entrypoint %v cmd %v, want [/%s] and no cmd", name, cf.Config.Entrypoint, cf.Config.Cmd, name)
		}
	}
}
