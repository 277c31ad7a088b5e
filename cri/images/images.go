package images

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/clusterkit/clusterkit/cri/testimage/behavior"
)

// Image references of the project's images.
const (
	TestImage  = behavior.TestImage
	PauseImage = behavior.PauseImage
)

// Go package paths of the programs.
const (
	TestProgram  = "github.com/clusterkit/clusterkit/cri/testimage/cmd/ckimage"
	PauseProgram = "github.com/clusterkit/clusterkit/cri/testimage/cmd/pause"
	// DNSProgram is the cluster DNS server the DNS add-on runs (reference/dns).
	DNSProgram = "github.com/clusterkit/clusterkit/reference/dns/cmd/clusterdns"
)

// DNSImage is the image of the cluster DNS add-on (Deployment coredns in kube-system).
const DNSImage = "clusterkit.local/clusterdns:v1"

// BuildDNS compiles the cluster DNS server and packages it (at /clusterdns).
func BuildDNS(ctx context.Context, opts BuildOptions) (v1.Image, error) {
	return buildOne(ctx, opts, DNSProgram, "clusterdns")
}

// BuildOptions say where and how to compile.
type BuildOptions struct {
	// Dir is any directory inside the clusterkit module (default: the
	// working directory), where `go build` runs.
	Dir string
	// Go is the go command (default "go" on PATH).
	Go string
}

// BuildBinary compiles a Go package of this module as a static Linux
// binary for the host's architecture and returns its path in outDir.
func BuildBinary(ctx context.Context, opts BuildOptions, pkg, outDir string) (string, error) {
	goCmd := opts.Go
	if goCmd == "" {
		goCmd = "go"
	}
	out := filepath.Join(outDir, filepath.Base(pkg))
	cmd := exec.CommandContext(ctx, goCmd, "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = opts.Dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w: %s", pkg, err, b)
	}
	return out, nil
}

// FromBinary packages one static binary as a single-layer OCI image with
// the binary at /<name> as entrypoint.
func FromBinary(binary, name string, env []string) (v1.Image, error) {
	data, err := os.ReadFile(binary)
	if err != nil {
		return nil, fmt.Errorf("read binary: %w", err)
	}
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	mtime := time.Unix(0, 0)
	for _, d := range []struct {
		name string
		mode int64
	}{{"etc/", 0o755}, {"tmp/", 0o1777}, {"dev/", 0o755}, {"proc/", 0o555}, {"sys/", 0o555}} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d.name, Mode: d.mode, ModTime: mtime}); err != nil {
			return nil, err
		}
	}
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{
		{"etc/passwd", 0o644, []byte("root:x:0:0:root:/:/ckimage\nnobody:x:65534:65534:nobody:/:/ckimage\n")},
		{"etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n")},
		{name, 0o755, data},
	} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: mtime}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return singleLayerImage(raw.Bytes(), func(cf *v1.ConfigFile) {
		cf.Config.Entrypoint = []string{"/" + name}
		cf.Config.Env = append([]string{"PATH=/"}, env...)
		cf.Config.WorkingDir = "/"
	})
}

// singleLayerImage makes an OCI image of one uncompressed tar layer (nothing to
// decompress when a node imports it: the layers hold executables that gzip
// halves at best, and every import paid the decompression) for
// linux on this architecture, created at the epoch (so equal inputs give
// equal digests), with config set by fill.
func singleLayerImage(layerBytes []byte, fill func(*v1.ConfigFile)) (v1.Image, error) {
	layer := static.NewLayer(layerBytes, types.OCIUncompressedLayer)
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		return nil, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Created = v1.Time{Time: time.Unix(0, 0)}
	fill(cf)
	return mutate.ConfigFile(img, cf)
}

// Build compiles the named programs and packages each as an image.
func buildOne(ctx context.Context, opts BuildOptions, pkg, name string) (v1.Image, error) {
	dir, err := os.MkdirTemp("", "clusterkit-image-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin, err := BuildBinary(ctx, opts, pkg, dir)
	if err != nil {
		return nil, err
	}
	return FromBinary(bin, name, nil)
}

// BuildTestImage compiles ckimage and packages it (binary at /ckimage).
func BuildTestImage(ctx context.Context, opts BuildOptions) (v1.Image, error) {
	return buildOne(ctx, opts, TestProgram, "ckimage")
}

// BuildPause compiles the pause program and packages it (at /pause).
func BuildPause(ctx context.Context, opts BuildOptions) (v1.Image, error) {
	return buildOne(ctx, opts, PauseProgram, "pause")
}

// BuildAll builds both images, keyed by their references (TestImage,
// PauseImage).
func BuildAll(ctx context.Context, opts BuildOptions) (map[string]v1.Image, error) {
	test, err := BuildTestImage(ctx, opts)
	if err != nil {
		return nil, err
	}
	pause, err := BuildPause(ctx, opts)
	if err != nil {
		return nil, err
	}
	return map[string]v1.Image{TestImage: test, PauseImage: pause}, nil
}

// WriteOCIArchive writes images as one OCI image layout tar: blobs,
// oci-layout and an index.json whose manifests carry the
// io.containerd.image.name (full reference) and
// org.opencontainers.image.ref.name (tag) annotations, as containerd's
// import expects. Keys of images are full references.
func WriteOCIArchive(w io.Writer, imgs map[string]v1.Image) error {
	tw := tar.NewWriter(w)
	written := map[v1.Hash]bool{}
	writeFile := func(name string, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	writeBlob := func(h v1.Hash, size int64, r io.Reader) error {
		if written[h] {
			return nil
		}
		written[h] = true
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "blobs/" + h.Algorithm + "/" + h.Hex, Mode: 0o644, Size: size, ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
		_, err := io.Copy(tw, r)
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "blobs/sha256/", Mode: 0o755, ModTime: time.Unix(0, 0)}); err != nil {
		return err
	}
	refs := make([]string, 0, len(imgs))
	for ref := range imgs {
		refs = append(refs, ref)
	}
	sort.Strings(refs)
	var manifests []v1.Descriptor
	for _, ref := range refs {
		img := imgs[ref]
		layers, err := img.Layers()
		if err != nil {
			return err
		}
		for _, l := range layers {
			h, err := l.Digest()
			if err != nil {
				return err
			}
			size, err := l.Size()
			if err != nil {
				return err
			}
			rc, err := l.Compressed()
			if err != nil {
				return err
			}
			err = writeBlob(h, size, rc)
			rc.Close()
			if err != nil {
				return fmt.Errorf("layer of %s: %w", ref, err)
			}
		}
		cfgName, err := img.ConfigName()
		if err != nil {
			return err
		}
		cfg, err := img.RawConfigFile()
		if err != nil {
			return err
		}
		if err := writeBlob(cfgName, int64(len(cfg)), bytes.NewReader(cfg)); err != nil {
			return err
		}
		raw, err := img.RawManifest()
		if err != nil {
			return err
		}
		h, err := img.Digest()
		if err != nil {
			return err
		}
		if err := writeBlob(h, int64(len(raw)), bytes.NewReader(raw)); err != nil {
			return err
		}
		mt, err := img.MediaType()
		if err != nil {
			return err
		}
		manifests = append(manifests, v1.Descriptor{MediaType: mt, Size: int64(len(raw)), Digest: h, Annotations: map[string]string{
			"io.containerd.image.name":          ref,
			"org.opencontainers.image.ref.name": tagOf(ref),
		}})
	}
	index, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: manifests})
	if err != nil {
		return err
	}
	if err := writeFile("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	if err := writeFile("index.json", index); err != nil {
		return err
	}
	return tw.Close()
}

func tagOf(ref string) string {
	for i := len(ref) - 1; i >= 0; i-- {
		switch ref[i] {
		case ':':
			return ref[i+1:]
		case '/', '@':
			return "latest"
		}
	}
	return "latest"
}

// ExecutableInImage is where images made from the clusterkit executable hold it.
const ExecutableInImage = "/usr/local/bin/clusterkit"

// The names the clusterkit executable runs the images' programs by (package multicall), each
// image's entrypoint /NAME.
const (
	PauseProgramName = "pause"
	TestProgramName  = "ckimage"
	DNSProgramName   = "clusterdns"
)

// FromExecutable composes images from the clusterkit executable bin: base holds it and the
// libraries it links at ExecutableInImage (its entrypoint); programs are the pause, test and
// cluster DNS images (PauseImage, TestImage, DNSImage), each base plus a symlink /pause,
// /ckimage or /clusterdns to the executable, which runs that program when called by that name
// (package multicall). They share base's layer: containerd stores it once.
func FromExecutable(ctx context.Context, bin string) (base v1.Image, programs map[string]v1.Image, err error) {
	files, err := WithLibraries(ctx, bin, ExecutableInImage)
	if err != nil {
		return nil, nil, err
	}
	if base, err = Compose(Spec{Files: files, Entrypoint: []string{ExecutableInImage}}); err != nil {
		return nil, nil, err
	}
	programs = map[string]v1.Image{}
	for ref, name := range map[string]string{PauseImage: PauseProgramName, TestImage: TestProgramName, DNSImage: DNSProgramName} {
		if programs[ref], err = WithProgram(base, name, ExecutableInImage); err != nil {
			return nil, nil, fmt.Errorf("composing %s: %w", ref, err)
		}
	}
	return base, programs, nil
}

// BuildFromSource builds the pause and test images (BuildAll) and, when withDNS, the cluster
// DNS image (BuildDNS) from the source tree, keyed by their references.
func BuildFromSource(ctx context.Context, withDNS bool) (map[string]v1.Image, error) {
	imgs, err := BuildAll(ctx, BuildOptions{})
	if err != nil {
		return nil, err
	}
	if withDNS {
		if imgs[DNSImage], err = BuildDNS(ctx, BuildOptions{}); err != nil {
			return nil, err
		}
	}
	return imgs, nil
}

// BuildOrFromExecutable builds the pause and test images — and the cluster DNS image when
// withDNS — from source (BuildAll, BuildDNS: inside the source tree, with the go command) or,
// when that is not possible, makes them from the running clusterkit executable
// (FromExecutable, which always has all three). note says which, for a progress line.
func BuildOrFromExecutable(ctx context.Context, withDNS bool) (imgs map[string]v1.Image, note string, err error) {
	imgs, buildErr := BuildFromSource(ctx, withDNS)
	if buildErr == nil {
		return imgs, "built from source", nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, "", errors.Join(buildErr, err)
	}
	_, imgs, err = FromExecutable(ctx, exe)
	if err != nil {
		return nil, "", fmt.Errorf("building the images from source: %w; making them from %s: %w", buildErr, exe, err)
	}
	first, _, _ := strings.Cut(buildErr.Error(), "\n")
	return imgs, fmt.Sprintf("made from %s (not built from source: %s)", exe, first), nil
}
