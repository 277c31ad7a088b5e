package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Registry is a running loopback registry.
type Registry struct {
	ln   net.Listener
	srv  *http.Server
	done chan struct{}
}

// Start serves an empty in-memory registry on 127.0.0.1 (a free port)
// until ctx ends or Close is called.
func Start(ctx context.Context) (*Registry, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("registry listen: %w", err)
	}
	r := &Registry{
		ln:   ln,
		srv:  &http.Server{Handler: ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))), ReadHeaderTimeout: 10 * time.Second},
		done: make(chan struct{}),
	}
	go func() {
		defer close(r.done)
		if err := r.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Printf("registry: %v", err)
		}
	}()
	go func() {
		select {
		case <-ctx.Done():
			_ = r.Close()
		case <-r.done:
		}
	}()
	return r, nil
}

// Host is "127.0.0.1:PORT".
func (r *Registry) Host() string { return r.ln.Addr().String() }

// Ref maps an image reference to the same repository name and tag in this
// registry: "clusterkit.local/ckimage:v1" -> "127.0.0.1:PORT/ckimage:v1".
func (r *Registry) Ref(ref string) string {
	repo, tag := ref, "latest"
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		repo, tag = ref[:i], ref[i+1:]
	}
	return r.Host() + "/" + path.Base(repo) + ":" + tag
}

// Push uploads img as ref (which must name this registry).
func (r *Registry) Push(ctx context.Context, ref string, img v1.Image) error {
	tag, err := name.NewTag(ref, name.Insecure)
	if err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	if err := remote.Write(tag, img, remote.WithContext(ctx)); err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	return nil
}

// PushAll uploads images keyed by their usual references and returns the
// reference of each in this registry (see Ref).
func (r *Registry) PushAll(ctx context.Context, imgs map[string]v1.Image) (map[string]string, error) {
	out := map[string]string{}
	for ref, img := range imgs {
		to := r.Ref(ref)
		if err := r.Push(ctx, to, img); err != nil {
			return nil, err
		}
		out[ref] = to
	}
	return out, nil
}

// Close stops the registry.
func (r *Registry) Close() error {
	err := r.srv.Close()
	<-r.done
	return err
}

// WriteHostsTOML writes certsDir/<host>/hosts.toml telling containerd to
// pull host's images over plain HTTP from the registry at host.
func WriteHostsTOML(certsDir, host string) error {
	dir := filepath.Join(certsDir, host)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	body := fmt.Sprintf("server = %q\n\n[host.%q]\n  capabilities = [\"pull\", \"resolve\"]\n  skip_verify = true\n", "http://"+host, "http://"+host)
	return os.WriteFile(filepath.Join(dir, "hosts.toml"), []byte(body), 0o644)
}
