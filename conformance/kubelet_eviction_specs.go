package conformance

import (
	"context"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

const srcEmptyDirLimit = "Kubernetes: Volumes, emptyDir sizeLimit (kubernetes.io/docs/concepts/storage/volumes/#emptydir), Node-pressure eviction of local ephemeral storage (kubelet eviction manager, emptyDirLimitEviction)"

func kubeletEvictionSpecs() []spec[*kubeletEnv] {
	return []spec[*kubeletEnv]{
		{kubeletBehavior("kubelet.volumes.emptydir-size-limit",
			"a pod whose disk emptyDir volume holds more than the volume's sizeLimit MUST be evicted: phase Failed, reason Evicted, and a message naming the volume and its limit (\"Usage of EmptyDir volume \\\"NAME\\\" exceeds the limit \\\"SIZE\\\".\")",
			srcEmptyDirLimit), specEmptyDirSizeLimit},
	}
}

func specEmptyDirSizeLimit(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	p := e.testPod("fill", "serve-hostname")
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	p.Spec.Volumes = []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: ptr.To(resource.MustParse("1Mi"))}}}}
	p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "scratch", MountPath: "/scratch"}}
	e.create(ctx, g, p)
	e.waitPod(ctx, g, "fill", "Running", startTimeout, isRunning)
	// Within the limit: the pod keeps running.
	e.run(ctx, g, "fill", "c", "fill", "/scratch/small", "102400")
	// Over it.
	e.run(ctx, g, "fill", "c", "fill", "/scratch/big", "4194304")
	got := e.waitPod(ctx, g, "fill", "Failed (evicted)", 120*time.Second, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	g.Expect(got.Status.Reason).To(gomega.Equal("Evicted"), "status.reason of a pod whose emptyDir exceeds its sizeLimit")
	g.Expect(got.Status.Message).To(gomega.ContainSubstring(`Usage of EmptyDir volume "scratch" exceeds the limit "1Mi"`), "status.message")
}
