package images

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// File is one regular file of a composed image.
type File struct {
	// Path inside the image, absolute ("/agnhost").
	Path string
	// From is the host file to copy (read when the image is composed);
	// Data is used instead when From is "".
	From string
	Data []byte
	// Mode of the file (default 0o755 for From, 0o644 for Data).
	Mode int64
}

// Spec describes an image made of host files: a single layer with the
// usual top-level directories, /etc/passwd and /etc/group, the files and
// symlinks given, and an image config.
type Spec struct {
	Files []File
	// Symlinks map a path in the image to its target ("/bin/sh" → "busybox").
	Symlinks map[string]string
	// Passwd and Group are appended to the base /etc/passwd and /etc/group
	// (root and nobody), one entry per line.
	Passwd, Group []string
	Entrypoint    []string
	Cmd           []string
	Env           []string
	WorkingDir    string
	// User is the image's default user ("" is root).
	User string
}

// Compose builds the single-layer image of spec. Files are copied with
// their content, every parent directory is created, and timestamps are
// fixed so the same inputs give the same digest.
func Compose(spec Spec) (v1.Image, error) {
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	mtime := time.Unix(0, 0)
	dirs := map[string]bool{}
	var mkdir func(dir string, mode int64) error
	mkdir = func(dir string, mode int64) error {
		dir = strings.Trim(dir, "/")
		if dir == "" || dir == "." || dirs[dir] {
			return nil
		}
		if err := mkdir(path.Dir(dir), 0o755); err != nil {
			return err
		}
		dirs[dir] = true
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: mode, ModTime: mtime})
	}
	for _, d := range []struct {
		name string
		mode int64
	}{{"bin", 0o755}, {"etc", 0o755}, {"tmp", 0o1777}, {"dev", 0o755}, {"proc", 0o555}, {"sys", 0o555}, {"root", 0o700}, {"var/run", 0o755}} {
		if err := mkdir(d.name, d.mode); err != nil {
			return nil, err
		}
	}
	passwd := "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"
	group := "root:x:0:\nnogroup:x:65534:\n"
	for _, l := range spec.Passwd {
		passwd += l + "\n"
	}
	for _, l := range spec.Group {
		group += l + "\n"
	}
	files := append([]File{
		{Path: "/etc/passwd", Data: []byte(passwd)},
		{Path: "/etc/group", Data: []byte(group)},
	}, spec.Files...)
	seen := map[string]bool{}
	for _, f := range files {
		name := strings.TrimPrefix(path.Clean("/"+f.Path), "/")
		if seen[name] {
			continue
		}
		seen[name] = true
		data, mode := f.Data, f.Mode
		if f.From != "" {
			b, err := os.ReadFile(f.From)
			if err != nil {
				return nil, fmt.Errorf("image file %s: %w", f.Path, err)
			}
			data = b
			if mode == 0 {
				mode = 0o755
			}
		} else if mode == 0 {
			mode = 0o644
		}
		if err := mkdir(path.Dir(name), 0o755); err != nil {
			return nil, err
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: mtime}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	links := make([]string, 0, len(spec.Symlinks))
	for l := range spec.Symlinks {
		links = append(links, l)
	}
	sort.Strings(links)
	for _, l := range links {
		name := strings.TrimPrefix(path.Clean("/"+l), "/")
		if seen[name] {
			continue
		}
		seen[name] = true
		if err := mkdir(path.Dir(name), 0o755); err != nil {
			return nil, err
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: spec.Symlinks[l], Mode: 0o777, ModTime: mtime}); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return singleLayerImage(raw.Bytes(), func(cf *v1.ConfigFile) {
		cf.Config.Entrypoint = spec.Entrypoint
		cf.Config.Cmd = spec.Cmd
		cf.Config.Env = append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, spec.Env...)
		cf.Config.WorkingDir = spec.WorkingDir
		if cf.Config.WorkingDir == "" {
			cf.Config.WorkingDir = "/"
		}
		cf.Config.User = spec.User
	})
}

// WithLibraries returns the host file and the shared libraries it loads
// (as ldd reports them, the dynamic loader included), each at its host
// path, so a dynamically linked host program runs inside an image.
func WithLibraries(ctx context.Context, hostPath, imagePath string) ([]File, error) {
	files := []File{{Path: imagePath, From: hostPath}}
	out, err := exec.CommandContext(ctx, "ldd", hostPath).Output()
	if err != nil {
		// "not a dynamic executable": a static binary needs nothing more.
		if ee, ok := err.(*exec.ExitError); ok && (bytes.Contains(ee.Stderr, []byte("not a dynamic")) || bytes.Contains(out, []byte("not a dynamic"))) {
			return files, nil
		}
		return nil, fmt.Errorf("ldd %s: %w", hostPath, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		var lib string
		if _, after, ok := strings.Cut(line, "=> "); ok {
			lib = strings.Fields(after)[0]
		} else if strings.HasPrefix(line, "/") {
			lib = strings.Fields(line)[0]
		}
		if lib == "" || !filepath.IsAbs(lib) {
			continue
		}
		// Libraries are copied under their own path and, when it is a
		// symlink (lib64/ld-linux… → ../lib/…), under the resolved path too.
		files = append(files, File{Path: lib, From: lib, Mode: 0o755})
		if real, err := filepath.EvalSymlinks(lib); err == nil && real != lib {
			files = append(files, File{Path: real, From: real, Mode: 0o755})
		}
	}
	return files, sc.Err()
}

// WithProgram returns base with one more layer holding the symlink /name → target, and
// /name as its entrypoint: the image of the program target runs when called by that name (a
// multi-call binary, as the clusterkit executable is for /pause, /ckimage and /clusterdns).
// Images made from one base share its layers, which containerd stores once.
func WithProgram(base v1.Image, name, target string) (v1.Image, error) {
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777, ModTime: time.Unix(0, 0)}); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layerBytes := raw.Bytes()
	layer := static.NewLayer(layerBytes, types.OCIUncompressedLayer)
	img, err := mutate.AppendLayers(base, layer)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Config.Entrypoint, cf.Config.Cmd = []string{"/" + name}, nil
	return mutate.ConfigFile(img, cf)
}
