package kubeconfigext

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Name is the name of the extension in a kubeconfig cluster entry.
const Name = "clusterkit.io/cluster"

// KindUp is Cluster.Kind of a cluster started by `clusterkit up`.
const KindUp = "up"

// Cluster is what a clusterkit cluster records in its kubeconfig.
type Cluster struct {
	// Kind is what made the cluster (KindUp).
	Kind string `json:"kind"`
	// DataDir is the cluster's data directory (absolute).
	DataDir string `json:"dataDir,omitempty"`
	// ContainerdAddresses are the socket paths of the containerd instances
	// that run the cluster's nodes' containers (absolute; what
	// containerd.ImportTo takes).
	ContainerdAddresses []string `json:"containerdAddresses,omitempty"`
}

// Set records info in the cluster entry c, replacing a previous record.
func Set(c *clientcmdapi.Cluster, info Cluster) error {
	raw, err := json.Marshal(info)
	if err != nil {
		return fmt.Errorf("encoding the %s extension: %w", Name, err)
	}
	if c.Extensions == nil {
		c.Extensions = map[string]runtime.Object{}
	}
	c.Extensions[Name] = &runtime.Unknown{Raw: raw, ContentType: runtime.ContentTypeJSON}
	return nil
}

// Get returns the record of the cluster entry c; ok is false when c has none.
func Get(c *clientcmdapi.Cluster) (info Cluster, ok bool, err error) {
	if c == nil {
		return Cluster{}, false, nil
	}
	obj, found := c.Extensions[Name]
	if !found || obj == nil {
		return Cluster{}, false, nil
	}
	var raw []byte
	switch o := obj.(type) {
	case *runtime.Unknown:
		raw = o.Raw
	default:
		// Not read from a file (an object set in memory): its JSON.
		if raw, err = json.Marshal(o); err != nil {
			return Cluster{}, false, fmt.Errorf("the %s extension: %w", Name, err)
		}
	}
	if err := json.Unmarshal(raw, &info); err != nil {
		return Cluster{}, false, fmt.Errorf("the %s extension: %w", Name, err)
	}
	return info, true, nil
}

// Load reads the record of the cluster of the current context of the
// kubeconfig file at path; ok is false when that cluster has none (or the
// file has no current context).
func Load(path string) (info Cluster, ok bool, err error) {
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return Cluster{}, false, fmt.Errorf("reading kubeconfig %s: %w", path, err)
	}
	ctx := cfg.Contexts[cfg.CurrentContext]
	if ctx == nil {
		return Cluster{}, false, nil
	}
	info, ok, err = Get(cfg.Clusters[ctx.Cluster])
	if err != nil {
		return Cluster{}, false, fmt.Errorf("kubeconfig %s, cluster %s: %w", path, ctx.Cluster, err)
	}
	return info, ok, nil
}

// ContainerdAddresses returns the containerd sockets recorded in the
// kubeconfig file at path (none when it records none). A relative address is
// taken relative to the kubeconfig's directory.
func ContainerdAddresses(path string) ([]string, error) {
	info, _, err := Load(path)
	if err != nil {
		return nil, err
	}
	var addrs []string
	for _, a := range info.ContainerdAddresses {
		if a == "" {
			continue
		}
		if !filepath.IsAbs(a) {
			a = filepath.Join(filepath.Dir(path), a)
		}
		addrs = append(addrs, filepath.Clean(a))
	}
	return addrs, nil
}
