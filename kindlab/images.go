package kindlab

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/clusterkit/clusterkit/cri/containerd"
)

// containerdAddressFile is where a node agent records its containerd's
// socket while it runs (the socket may live in a temporary directory: unix
// socket paths are short).
func containerdAddressFile(dir, node string) string {
	return filepath.Join(dir, "data", node+".containerd")
}

// loadedDir keeps the archives loaded into the lab (ImportImages), which a node imports when
// it starts.
func (l *Lab) loadedDir() string { return filepath.Join(l.Dir, "data", "loaded") }

// ContainerdAddresses returns the containerd socket of every node, by node
// name; a node whose agent is not running is an error.
func (l *Lab) ContainerdAddresses() (map[string]string, error) {
	out := map[string]string{}
	for _, n := range l.Nodes {
		addr, err := l.containerdAddress(n)
		if err != nil {
			return nil, fmt.Errorf("node %s of lab %s has no running containerd (%w): is the lab running? (clusterkit lab list)", n.Name, l.Name, err)
		}
		out[n.Name] = addr
	}
	return out, nil
}

// containerdAddress returns node n's containerd socket as recorded by its agent, as this
// process reaches it: a socket inside a node container's own file system (a temporary
// directory, when the lab's path is too long for a socket) through the container's root.
func (l *Lab) containerdAddress(n Node) (string, error) {
	b, err := os.ReadFile(containerdAddressFile(l.Dir, n.Name))
	if err != nil {
		return "", err
	}
	addr := strings.TrimPrefix(string(bytes.TrimSpace(b)), "unix://")
	if l.containers() && !strings.HasPrefix(addr, l.Dir+"/") {
		addr = fmt.Sprintf("/proc/%d/root%s", n.PID, addr)
	}
	return addr, nil
}

// ImportImages imports an image archive (OCI layout or docker save tar)
// into every node's containerd, as kind load image-archive does; progress
// gets a line per node.
func (l *Lab) ImportImages(ctx context.Context, archive []byte, progress func(format string, args ...any)) error {
	addrs, err := l.ContainerdAddresses()
	if err != nil {
		return err
	}
	// Kept in the lab, so that nodes added later (lab node add) import it too.
	sum := sha256.Sum256(archive)
	kept := filepath.Join(l.loadedDir(), hex.EncodeToString(sum[:8])+".tar")
	if err := os.MkdirAll(l.loadedDir(), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(kept, archive, 0o644); err != nil {
		return err
	}
	var errs []error
	for _, n := range l.Nodes {
		names, err := containerd.ImportTo(ctx, addrs[n.Name], bytes.NewReader(archive))
		if err != nil {
			errs = append(errs, fmt.Errorf("node %s: %w", n.Name, err))
			continue
		}
		if progress != nil {
			progress("loaded %d images into node %s", len(names), n.Name)
		}
	}
	return errors.Join(errs...)
}

// FindByKubeconfig returns the lab under root that kubeconfig belongs to:
// the lab whose kubeconfig is that file, or whose API server the file's
// current context names. It returns nil, nil when none does.
func FindByKubeconfig(root, kubeconfig string) (*Lab, error) {
	labs, err := List(root)
	if err != nil {
		return nil, err
	}
	abs, _ := filepath.Abs(kubeconfig)
	server := ""
	if rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig); err == nil {
		server = rc.Host
	}
	for _, l := range labs {
		if la, _ := filepath.Abs(l.Kubeconfig); la == abs || (server != "" && server == l.Server) {
			return l, nil
		}
	}
	return nil, nil
}
