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

// ClientKubeconfig returns a kubeconfig for a server at serverURL (https) trusted through
// the CA certificate caPEM, acting as user with the client certificate certPEM and its key
// keyPEM, embedded as data. user names the credentials in the file.
func ClientKubeconfig(serverURL string, caPEM []byte, user string, certPEM, keyPEM []byte) *clientcmdapi.Config {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[KubeconfigContext] = &clientcmdapi.Cluster{Server: serverURL, CertificateAuthorityData: caPEM}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{ClientCertificateData: certPEM, ClientKeyData: keyPEM}
	cfg.Contexts[KubeconfigContext] = &clientcmdapi.Context{Cluster: KubeconfigContext, AuthInfo: user, Namespace: "default"}
	cfg.CurrentContext = KubeconfigContext
	return cfg
}

// WriteKubeconfig writes an admin kubeconfig for serverURL to path (mode 0600), creating its
// directory.
func WriteKubeconfig(path, serverURL string) error {
	return WriteKubeconfigFile(path, Kubeconfig(serverURL))
}

// WriteKubeconfigFile writes cfg to path (mode 0600), creating its directory. It replaces
// the file atomically, so a reader sees the old file or the new one, never part of one.
func WriteKubeconfigFile(path string, cfg *clientcmdapi.Config) error {
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return fmt.Errorf("encoding kubeconfig %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating kubeconfig directory: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*") // mode 0600
	if err != nil {
		return fmt.Errorf("writing kubeconfig %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("writing kubeconfig %s: %w", path, err)
	}
	return nil
}
