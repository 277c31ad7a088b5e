package simruntime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/clusterkit/clusterkit/cri/testimage/behavior"
)

const simFsMount = "/var/lib/clusterkit-sim"

type imageKind int

const (
	kindOther imageKind = iota
	kindTest
	kindPause
	kindWeb // a well-known web server image: serves HTTP on port 80
)

// webServers are repositories (last path element) the simulator runs as an
// HTTP server on port 80 when the container has no command of its own.
var webServers = map[string]bool{"nginx": true, "httpd": true, "caddy": true}

type image struct {
	id         string
	refs       []string // normalised repo:tag references
	digests    []string // repo@sha256:… references
	size       uint64
	kind       imageKind
	entrypoint []string
	cmd        []string
}

// NormalizeRef turns a short image reference into the full one containerd
// uses: "busybox" is "docker.io/library/busybox:latest"; a digest
// reference keeps its digest.
func NormalizeRef(ref string) string {
	name, tagOrDigest := ref, ""
	if i := strings.Index(name, "@"); i >= 0 {
		name, tagOrDigest = name[:i], name[i:]
	} else if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name, tagOrDigest = name[:i], name[i:]
	}
	if tagOrDigest == "" {
		tagOrDigest = ":latest"
	}
	first, _, hasSlash := strings.Cut(name, "/")
	if !hasSlash || (!strings.ContainsAny(first, ".:") && first != "localhost") {
		if !hasSlash {
			name = "library/" + name
		}
		name = "docker.io/" + name
	}
	return name + tagOrDigest
}

func repository(normalized string) string {
	if i := strings.Index(normalized, "@"); i >= 0 {
		return normalized[:i]
	}
	if i := strings.LastIndex(normalized, ":"); i > strings.LastIndex(normalized, "/") {
		return normalized[:i]
	}
	return normalized
}

func digestOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// addImageLocked makes ref present and returns its image.
func (r *Runtime) addImageLocked(ref string) *image {
	n := NormalizeRef(ref)
	if id, ok := r.refs[n]; ok {
		return r.images[id]
	}
	repo := repository(n)
	img := &image{id: digestOf(n), size: 8 << 20}
	if strings.Contains(n, "@") {
		img.digests = []string{n}
	} else {
		img.refs = []string{n}
		img.digests = []string{repo + "@" + digestOf("manifest "+n)}
	}
	switch path.Base(repo) {
	case "ckimage":
		img.kind, img.entrypoint, img.size = kindTest, []string{behavior.TestBinary}, 6<<20
	case "pause":
		img.kind, img.entrypoint, img.size = kindPause, []string{behavior.PauseBinary}, 1<<20
	default:
		if webServers[path.Base(repo)] {
			img.kind = kindWeb
		}
	}
	if old, ok := r.images[img.id]; ok {
		img = old
	}
	r.images[img.id] = img
	r.refs[n] = img.id
	return img
}

func (r *Runtime) lookupImageLocked(ref string) (*image, bool) {
	if ref == "" {
		return nil, false
	}
	if img, ok := r.images[ref]; ok {
		return img, true
	}
	if img, ok := r.images["sha256:"+ref]; ok {
		return img, true
	}
	if id, ok := r.refs[NormalizeRef(ref)]; ok {
		return r.images[id], true
	}
	n := NormalizeRef(ref)
	for _, img := range r.images {
		for _, d := range img.digests {
			if d == n {
				return img, true
			}
		}
	}
	return nil, false
}

func (r *Runtime) failureFor(ref string) ImageFailure {
	if len(r.opts.ImageFailures) == 0 {
		return ""
	}
	n := NormalizeRef(ref)
	if f, ok := r.opts.ImageFailures[n]; ok {
		return f
	}
	if f, ok := r.opts.ImageFailures[repository(n)]; ok {
		return f
	}
	for k, f := range r.opts.ImageFailures {
		if NormalizeRef(k) == n || repository(NormalizeRef(k)) == repository(n) && !strings.ContainsAny(k[strings.LastIndex(k, "/")+1:], ":@") {
			return f
		}
	}
	return ""
}

func (r *Runtime) failureLocked(img *image) ImageFailure {
	for _, ref := range append(append([]string{}, img.refs...), img.digests...) {
		if f := r.failureFor(ref); f != "" {
			return f
		}
	}
	return ""
}

func (img *image) toAPI(pinned bool) *runtimeapi.Image {
	spec := ""
	if len(img.refs) > 0 {
		spec = img.refs[0]
	}
	return &runtimeapi.Image{
		Id:          img.id,
		RepoTags:    img.refs,
		RepoDigests: img.digests,
		Size:        img.size,
		Uid:         &runtimeapi.Int64Value{Value: 0},
		Spec:        &runtimeapi.ImageSpec{Image: spec},
		Pinned:      pinned,
	}
}

func (r *Runtime) listImages(f *runtimeapi.ImageFilter) []*runtimeapi.Image {
	r.mu.Lock()
	defer r.mu.Unlock()
	if want := f.GetImage().GetImage(); want != "" {
		if img, ok := r.lookupImageLocked(want); ok {
			return []*runtimeapi.Image{img.toAPI(img.kind == kindPause)}
		}
		return nil
	}
	out := make([]*runtimeapi.Image, 0, len(r.images))
	for _, img := range r.images {
		out = append(out, img.toAPI(img.kind == kindPause))
	}
	return out
}

// ListImages implements ImageService.
func (r *Runtime) ListImages(ctx context.Context, req *runtimeapi.ListImagesRequest) (*runtimeapi.ListImagesResponse, error) {
	return &runtimeapi.ListImagesResponse{Images: r.listImages(req.Filter)}, nil
}

// StreamImages implements ImageService: ListImages in chunks.
func (r *Runtime) StreamImages(req *runtimeapi.StreamImagesRequest, stream grpc.ServerStreamingServer[runtimeapi.StreamImagesResponse]) error {
	return sendChunks(r.listImages(req.Filter), func(chunk []*runtimeapi.Image) error {
		return stream.Send(&runtimeapi.StreamImagesResponse{Images: chunk})
	})
}

// ImageStatus implements ImageService: a missing image is a nil Image, not
// an error.
func (r *Runtime) ImageStatus(ctx context.Context, req *runtimeapi.ImageStatusRequest) (*runtimeapi.ImageStatusResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	img, ok := r.lookupImageLocked(req.GetImage().GetImage())
	if !ok {
		return &runtimeapi.ImageStatusResponse{}, nil
	}
	resp := &runtimeapi.ImageStatusResponse{Image: img.toAPI(img.kind == kindPause)}
	if req.Verbose {
		resp.Info = map[string]string{"info": `{"runtime":"clusterkit-sim"}`}
	}
	return resp, nil
}

// PullImage implements ImageService: any reference pulls after
// PullLatency unless Options.ImageFailures says otherwise.
func (r *Runtime) PullImage(ctx context.Context, req *runtimeapi.PullImageRequest) (*runtimeapi.PullImageResponse, error) {
	ref := req.GetImage().GetImage()
	if ref == "" {
		return nil, status.Error(codes.InvalidArgument, "image reference is empty")
	}
	r.mu.Lock()
	fail := r.failureFor(ref)
	r.mu.Unlock()
	switch fail {
	case PullNotFound:
		return nil, status.Errorf(codes.NotFound, "failed to pull and unpack image %q: failed to resolve reference %q: %s: not found", ref, NormalizeRef(ref), NormalizeRef(ref))
	case PullError:
		return nil, status.Errorf(codes.Unavailable, "failed to pull and unpack image %q: simulated registry error", ref)
	}
	if err := sleepCtx(ctx, r.opts.PullLatency); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	img := r.addImageLocked(ref)
	return &runtimeapi.PullImageResponse{ImageRef: img.id}, nil
}

// RemoveImage implements ImageService; removing a missing image succeeds.
func (r *Runtime) RemoveImage(ctx context.Context, req *runtimeapi.RemoveImageRequest) (*runtimeapi.RemoveImageResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	img, ok := r.lookupImageLocked(req.GetImage().GetImage())
	if !ok {
		return &runtimeapi.RemoveImageResponse{}, nil
	}
	for ref, id := range r.refs {
		if id == img.id {
			delete(r.refs, ref)
		}
	}
	delete(r.images, img.id)
	return &runtimeapi.RemoveImageResponse{}, nil
}

// ImageFsInfo implements ImageService: the sum of image sizes on a
// simulated filesystem.
func (r *Runtime) ImageFsInfo(ctx context.Context, req *runtimeapi.ImageFsInfoRequest) (*runtimeapi.ImageFsInfoResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var used uint64
	for _, img := range r.images {
		used += img.size
	}
	fs := &runtimeapi.FilesystemUsage{
		Timestamp:  time.Now().UnixNano(),
		FsId:       &runtimeapi.FilesystemIdentifier{Mountpoint: simFsMount},
		UsedBytes:  &runtimeapi.UInt64Value{Value: used},
		InodesUsed: &runtimeapi.UInt64Value{Value: uint64(len(r.images)) * 16},
	}
	return &runtimeapi.ImageFsInfoResponse{ImageFilesystems: []*runtimeapi.FilesystemUsage{fs}, ContainerFilesystems: []*runtimeapi.FilesystemUsage{fs}}, nil
}
