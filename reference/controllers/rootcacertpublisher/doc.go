// Package rootcacertpublisher is the reference root CA publisher (kube-controller-manager's
// root-ca-certificate-publisher-controller): it keeps a ConfigMap kube-root-ca.crt in every
// Active namespace whose data is exactly {"ca.crt": <the cluster CA bundle>}, annotated
// kubernetes.io/description, so pods can verify the API server. It recreates the ConfigMap when
// it is deleted and rewrites its data when someone edits it.
//
// The bundle comes from Config.RootCA (PEM). clusterkit has no PKI yet: until it does, the
// bundle is empty and the ConfigMap carries an empty ca.crt value, which keeps the shape pods
// and the Kubernetes e2e framework expect.
package rootcacertpublisher
