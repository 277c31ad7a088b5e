package kindlab

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/clusterkit/clusterkit/cri/images"
)

// ImageArchiveOf pulls image ref from the registry that serves it (one this machine reaches;
// plain HTTP only for a registry on loopback) for this machine's platform, and returns it as an
// OCI archive that ImportImages loads under ref's full name (docker.io/library/… for Docker
// Hub's short names, as containerd names them).
func ImageArchiveOf(ctx context.Context, ref string, opts ...remote.Option) ([]byte, error) {
	var nameOpts []name.Option
	if loopbackRegistry(ref) {
		nameOpts = append(nameOpts, name.Insecure)
	}
	r, err := name.ParseReference(ref, nameOpts...)
	if err != nil {
		return nil, fmt.Errorf("image reference %q: %w", ref, err)
	}
	opts = append([]remote.Option{remote.WithContext(ctx), remote.WithPlatform(v1.Platform{OS: "linux", Architecture: runtime.GOARCH})}, opts...)
	img, err := remote.Image(r, opts...)
	if err != nil {
		return nil, fmt.Errorf("pulling %s: %w (a registry this machine reaches must serve it; or load an archive: docker save -o app.tar %s)", ref, err, ref)
	}
	var buf bytes.Buffer
	if err := images.WriteOCIArchive(&buf, map[string]v1.Image{containerdName(r): img}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// containerdName is r's full name as containerd and the kubelet name images.
func containerdName(r name.Reference) string {
	reg := r.Context().RegistryStr()
	if reg == name.DefaultRegistry {
		reg = "docker.io"
	}
	full := reg + "/" + r.Context().RepositoryStr()
	switch t := r.(type) {
	case name.Tag:
		return full + ":" + t.TagStr()
	case name.Digest:
		return full + "@" + t.DigestStr()
	}
	return full
}

// loopbackRegistry reports whether ref's registry is on this machine's loopback.
func loopbackRegistry(ref string) bool {
	host, _, _ := strings.Cut(ref, "/")
	if !strings.ContainsAny(host, ".:") && host != "localhost" {
		return false
	}
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = host
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
