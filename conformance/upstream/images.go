package upstream

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/clusterkit/clusterkit/cri/images"
)

// Image names the v1.37 specs use (test/utils/image/manifest.go), with
// pull policy IfNotPresent: imported under these names, they run without a
// registry.
const (
	AgnhostImage     = "registry.k8s.io/e2e-test-images/agnhost:2.66.1"
	AgnhostPrevImage = "registry.k8s.io/e2e-test-images/agnhost:2.55"
	BusyboxImage     = "registry.k8s.io/e2e-test-images/busybox:1.37.0-2"
	NginxImage       = "registry.k8s.io/e2e-test-images/nginx:1.27.0-2"
	NginxNewImage    = "registry.k8s.io/e2e-test-images/nginx:1.28.0-2"
	PauseImage       = "registry.k8s.io/pause:3.10.2"
	// SampleAPIServerImage and EtcdImage run the Aggregator spec's extension API server and
	// its etcd.
	SampleAPIServerImage = "registry.k8s.io/e2e-test-images/sample-apiserver:1.29.2"
	EtcdImage            = "registry.k8s.io/etcd:3.7.0-0"
)

// Host programs the images are composed from (Debian packages
// busybox-static, netcat-openbsd and curl; scripts/install-upstream-deps.sh
// installs them).
const (
	hostBusybox = "/bin/busybox"
	hostNetcat  = "/bin/nc.openbsd"
	hostCurl    = "/usr/bin/curl"
	// hostDash is the agnhost image's /bin/sh (Debian's dash, essential on every Debian):
	// Debian's static busybox shell runs its own applets before searching PATH, so under it
	// `sh -c "nc -v ..."` ran busybox's nc, which has no -v, not openbsd's.
	hostDash = "/bin/dash"
)

// ImageDeps says what is missing on this machine to compose the images, or "".
func ImageDeps() string {
	var missing []string
	for _, p := range []string{hostBusybox, hostNetcat, hostCurl, hostDash} {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
	}
	if _, err := exec.LookPath("ldd"); err != nil {
		missing = append(missing, "ldd")
	}
	if len(missing) == 0 {
		return ""
	}
	return fmt.Sprintf("%s missing: run scripts/install-upstream-deps.sh (Debian's busybox-static, netcat-openbsd, curl)", strings.Join(missing, ", "))
}

// ImageOptions are the inputs of the e2e images.
type ImageOptions struct {
	// Agnhost is the agnhost binary (from EnsureBinaries; the shared
	// libraries it links go into the image with it).
	Agnhost string
	// SourceDir is the clusterkit source tree (for the pause program).
	SourceDir string
	// SampleAPIServer and Etcd are the binaries of the sample-apiserver and etcd images
	// (from EnsureBinaries); "" leaves those images out.
	SampleAPIServer, Etcd string
}

// BuildImages composes the images the conformance specs run, keyed by
// reference:
//   - agnhost (both tags): /agnhost as entrypoint (default command pause,
//     as upstream's image), busybox's shell and applets, openbsd netcat as
//     nc, curl, and a user 1000;
//   - busybox: busybox and its applets, sh as command;
//   - nginx (both tags): the agnhost layer serving HTTP on port 80 (agnhost
//     netexec) — the specs only need a web server there;
//   - pause: clusterkit's pause program at /pause;
//   - sample-apiserver: k8s.io/sample-apiserver as /sample-apiserver, the
//     entrypoint (the spec passes only arguments);
//   - etcd: etcd at /usr/local/bin/etcd, the path the spec runs.
func BuildImages(ctx context.Context, o ImageOptions) (map[string]v1.Image, error) {
	if why := ImageDeps(); why != "" {
		return nil, fmt.Errorf("composing the e2e images: %s", why)
	}
	bb, err := busyboxFiles(ctx)
	if err != nil {
		return nil, err
	}
	nc, err := images.WithLibraries(ctx, hostNetcat, "/usr/bin/nc")
	if err != nil {
		return nil, err
	}
	curl, err := images.WithLibraries(ctx, hostCurl, "/usr/bin/curl")
	if err != nil {
		return nil, err
	}
	agnhostFiles, err := images.WithLibraries(ctx, o.Agnhost, "/agnhost")
	if err != nil {
		return nil, err
	}
	dash, err := images.WithLibraries(ctx, hostDash, "/bin/sh")
	if err != nil {
		return nil, err
	}
	agnFiles := append(agnhostFiles, nc...)
	agnFiles = append(agnFiles, curl...)
	agnFiles = append(agnFiles, dash...)
	agnFiles = append(agnFiles, bb.files...)
	// Upstream's agnhost image has nc from openbsd: keep busybox's applet
	// from shadowing it, in PATH and as the shell (dash looks commands up in PATH; busybox's
	// shell would run its applet first).
	links := map[string]string{}
	for k, v := range bb.links {
		if filepath.Base(k) != "nc" && k != "/bin/sh" {
			links[k] = v
		}
	}
	users := []string{"agnhost:x:1000:1000:agnhost:/:/bin/sh"}
	groups := []string{"agnhost:x:1000:"}
	agnhost, err := images.Compose(images.Spec{Files: agnFiles, Symlinks: links, Passwd: users, Group: groups,
		Entrypoint: []string{"/agnhost"}, Cmd: []string{"pause"}})
	if err != nil {
		return nil, err
	}
	nginx, err := images.Compose(images.Spec{Files: agnFiles, Symlinks: links, Passwd: users, Group: groups,
		Entrypoint: []string{"/agnhost", "netexec", "--http-port=80", "--udp-port=-1"}})
	if err != nil {
		return nil, err
	}
	busybox, err := images.Compose(images.Spec{Files: bb.files, Symlinks: bb.links, Cmd: []string{"sh"}})
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "clusterkit-pause-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	pauseBin, err := images.BuildBinary(ctx, images.BuildOptions{Dir: o.SourceDir}, images.PauseProgram, dir)
	if err != nil {
		return nil, err
	}
	pause, err := images.Compose(images.Spec{Files: []images.File{{Path: "/pause", From: pauseBin}}, Entrypoint: []string{"/pause"}})
	if err != nil {
		return nil, err
	}
	out := map[string]v1.Image{
		AgnhostImage: agnhost, AgnhostPrevImage: agnhost,
		NginxImage: nginx, NginxNewImage: nginx,
		BusyboxImage: busybox, PauseImage: pause,
	}
	for _, x := range []struct {
		ref, bin, path string
		spec           images.Spec
	}{
		{SampleAPIServerImage, o.SampleAPIServer, "/sample-apiserver", images.Spec{Entrypoint: []string{"/sample-apiserver"}}},
		{EtcdImage, o.Etcd, "/usr/local/bin/etcd", images.Spec{Entrypoint: []string{"/usr/local/bin/etcd"}}},
	} {
		if x.bin == "" {
			continue
		}
		files, err := images.WithLibraries(ctx, x.bin, x.path)
		if err != nil {
			return nil, err
		}
		x.spec.Files = files
		if out[x.ref], err = images.Compose(x.spec); err != nil {
			return nil, err
		}
	}
	return out, nil
}

type busybox struct {
	files []images.File
	links map[string]string
}

// busyboxFiles is the static busybox at /bin/busybox and a symlink to it
// for each applet at the path busybox lists for it.
func busyboxFiles(ctx context.Context) (busybox, error) {
	out, err := exec.CommandContext(ctx, hostBusybox, "--list-full").Output()
	if err != nil {
		return busybox{}, fmt.Errorf("%s --list-full: %w", hostBusybox, err)
	}
	bb := busybox{files: []images.File{{Path: "/bin/busybox", From: hostBusybox}}, links: map[string]string{}}
	for _, l := range strings.Split(string(bytes.TrimSpace(out)), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l == "bin/busybox" {
			continue
		}
		bb.links["/"+l] = "/bin/busybox"
	}
	return bb, nil
}

// ImageArchive writes imgs as one OCI archive containerd imports.
func ImageArchive(imgs map[string]v1.Image) ([]byte, error) {
	var buf bytes.Buffer
	if err := images.WriteOCIArchive(&buf, imgs); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
