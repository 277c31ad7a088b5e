package conformance

import (
	"context"

	"github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilversion "k8s.io/apimachinery/pkg/util/version"
)

// kubeletVersionSpecs are the version the kubelet reports against the API server's.
func kubeletVersionSpecs() []spec[*kubeletEnv] {
	return []spec[*kubeletEnv]{
		{kubeletBehavior("kubelet.node.version-skew",
			"the kubelet's status.nodeInfo.kubeletVersion MUST be a semantic version within the skew Kubernetes allows of the API server's /version: not newer than the API server, and at most three minor versions older",
			srcVersionSkew), specKubeletVersionSkew},
	}
}

func specKubeletVersionSkew(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	info, err := e.client.Discovery().ServerVersion()
	ok(g, err, "reading /version")
	server, err := utilversion.ParseSemantic(info.GitVersion)
	g.Expect(err).NotTo(gomega.HaveOccurred(), "the server's gitVersion %q", info.GitVersion)
	node, err := e.client.CoreV1().Nodes().Get(ctx, e.k.Node, metav1.GetOptions{})
	ok(g, err, "reading node "+e.k.Node)
	kv := node.Status.NodeInfo.KubeletVersion
	kubelet, err := utilversion.ParseSemantic(kv)
	g.Expect(err).NotTo(gomega.HaveOccurred(), "node %s kubeletVersion %q", e.k.Node, kv)
	g.Expect(kubelet.Major()).To(gomega.Equal(server.Major()), "kubelet %s and server %s differ in major", kv, info.GitVersion)
	g.Expect(kubelet.Minor()).To(gomega.BeNumerically("<=", server.Minor()), "kubelet %s must not be newer than the API server %s", kv, info.GitVersion)
	g.Expect(kubelet.Minor()+3).To(gomega.BeNumerically(">=", server.Minor()), "kubelet %s must be at most three minors older than the API server %s", kv, info.GitVersion)
}
