package apiserver

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// KubeconfigContext is the name of the cluster, user and context in written kubeconfigs.
const KubeconfigContext = "clusterkit"

// Kubeconfig returns an admin kubeconfig for a server at serverURL (plain HTTP, no credentials).
func Kubeconfig(serverURL string) *clientcmdapi.Config {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[KubeconfigContext] = &clientcmdapi.Cluster{Server: serverURL}
	cfg.AuthInfos[KubeconfigContext+"-admin"] = &clientcmdapi.AuthInfo{}
	cfg.Contexts[KubeconfigContext] = &clientcmdapi.Context{
		Cluster: KubeconfigContext, AuthInfo: KubeconfigContext + "-admin", Namespace: "default",
	}
	cfg.CurrentContext = KubeconfigContext
	return cfg
}

// WriteKubeconfig writes an admin kubeconfig for serverURL to path (mode 0600), creating its
// directory.
func WriteKubeconfig(path, serverURL string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("creating kubeconfig directory: %w", err)
	}
	if err := clientcmd.WriteToFile(*Kubeconfig(serverURL), path); err != nil {
		return fmt.Errorf("writing kubeconfig %s: %w", path, err)
	}
	return os.Chmod(path, 0o600)
}
