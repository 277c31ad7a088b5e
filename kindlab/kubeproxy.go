package kindlab

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
)

// The kube-proxy add-on, as kubeadm installs it.
const (
	kubeProxyName = "kube-proxy"
	// kubeProxyConfigDir is where the ConfigMap kube-proxy is mounted in its pods.
	kubeProxyConfigDir = "/var/lib/kube-proxy"
	saDir              = "/var/run/secrets/kubernetes.io/serviceaccount"
)

// kubeProxyKubeconfig is the kubeconfig kube-proxy's pods use, kubeadm's kubeconfig.conf: the
// API server's real address (a Service address would need kube-proxy to reach) and the pod's
// ServiceAccount token and CA.
func kubeProxyKubeconfig(server string) ([]byte, error) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["default"] = &clientcmdapi.Cluster{Server: server, CertificateAuthority: saDir + "/ca.crt"}
	cfg.AuthInfos["default"] = &clientcmdapi.AuthInfo{TokenFile: saDir + "/token"}
	cfg.Contexts["default"] = &clientcmdapi.Context{Cluster: "default", AuthInfo: "default"}
	cfg.CurrentContext = "default"
	return clientcmd.Write(*cfg)
}

// installKubeProxy installs kube-proxy as kubeadm does: ServiceAccount kube-system/kube-proxy
// bound to system:node-proxier, ConfigMap kube-proxy with its kubeconfig, and DaemonSet
// kube-proxy — on every node (it tolerates every taint), on the node's network, privileged to
// program the node's nftables, running `clusterkit proxy` from ControlPlaneImage.
func (l *Lab) installKubeProxy(ctx context.Context, client kubernetes.Interface) error {
	ns := metav1.NamespaceSystem
	kc, err := kubeProxyKubeconfig(l.Server)
	if err != nil {
		return err
	}
	labels := map[string]string{"k8s-app": kubeProxyName}
	objs := []struct {
		what   string
		create func() error
	}{
		{"ServiceAccount", func() error {
			_, err := client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: kubeProxyName}}, metav1.CreateOptions{})
			return err
		}},
		{"ClusterRoleBinding", func() error {
			_, err := client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: "kubeadm:node-proxier"},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:node-proxier"},
				Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: kubeProxyName}},
			}, metav1.CreateOptions{})
			return err
		}},
		{"ConfigMap", func() error {
			_, err := client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: kubeProxyName, Labels: labels},
				Data:       map[string]string{"kubeconfig.conf": string(kc)},
			}, metav1.CreateOptions{})
			return err
		}},
		{"DaemonSet", func() error {
			_, err := client.AppsV1().DaemonSets(ns).Create(ctx, l.kubeProxyDaemonSet(labels), metav1.CreateOptions{})
			return err
		}},
	}
	for _, o := range objs {
		if err := o.create(); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating the %s of kube-proxy: %w", o.what, err)
		}
	}
	return nil
}

func (l *Lab) kubeProxyDaemonSet(labels map[string]string) *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: kubeProxyName, Namespace: metav1.NamespaceSystem, Labels: labels},
		Spec: appsv1.DaemonSetSpec{
			Selector:       &metav1.LabelSelector{MatchLabels: labels},
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					HostNetwork: true, PriorityClassName: "system-node-critical", ServiceAccountName: kubeProxyName,
					NodeSelector: map[string]string{corev1.LabelOSStable: "linux"},
					Tolerations:  []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
					Containers: []corev1.Container{{
						Name: kubeProxyName, Image: ControlPlaneImage, ImagePullPolicy: corev1.PullIfNotPresent,
						Command: []string{binaryInImage, "proxy", "--kubeconfig=" + filepath.Join(kubeProxyConfigDir, "kubeconfig.conf"),
							"--node-name=$(NODE_NAME)", "--service-cidr=" + l.ServiceCIDR},
						Env: []corev1.EnvVar{{Name: "NODE_NAME", ValueFrom: &corev1.EnvVarSource{
							FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "spec.nodeName"}}}},
						SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)},
						VolumeMounts:    []corev1.VolumeMount{{Name: kubeProxyName, MountPath: kubeProxyConfigDir}},
					}},
					Volumes: []corev1.Volume{{Name: kubeProxyName, VolumeSource: corev1.VolumeSource{
						ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: kubeProxyName}}}}},
				},
			},
		},
	}
}

// waitKubeProxy waits until kube-proxy's pod is Ready on every node of nodes.
func (l *Lab) waitKubeProxy(ctx context.Context, client kubernetes.Interface, nodes []Node, say func(string, ...any)) error {
	want := map[string]bool{}
	for _, n := range nodes {
		want[n.Name] = true
	}
	ready := map[string]bool{}
	var last string
	for {
		pods, err := client.CoreV1().Pods(metav1.NamespaceSystem).List(ctx, metav1.ListOptions{LabelSelector: "k8s-app=" + kubeProxyName})
		if err == nil {
			for _, p := range pods.Items {
				if !want[p.Spec.NodeName] || ready[p.Spec.NodeName] || p.DeletionTimestamp != nil {
					continue
				}
				for _, c := range p.Status.Conditions {
					if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
						ready[p.Spec.NodeName] = true
						say("kube-proxy %s Ready on %s", p.Name, p.Spec.NodeName)
					}
				}
				if !ready[p.Spec.NodeName] {
					last = fmt.Sprintf("%s on %s is %s", p.Name, p.Spec.NodeName, p.Status.Phase)
				}
			}
		} else {
			last = err.Error()
		}
		missing := ""
		for _, n := range nodes {
			if !ready[n.Name] {
				missing = n.Name
				break
			}
		}
		if missing == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kube-proxy did not become Ready on %s (%s; see %s)", missing, last,
				filepath.Join(l.Dir, "logs", missing+".log"))
		case <-time.After(250 * time.Millisecond):
		}
	}
}
