package plugins

import (
	"context"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/clusterkit/clusterkit/interfaces"
)

// ImageLocalityName is the ImageLocality score's name.
const ImageLocalityName = "ImageLocality"

// ImageLocality's thresholds, as kube-scheduler's: below 23 MiB of the
// pod's images on a node scores 0, 1000 MiB per image of the pod scores
// 100.
const (
	mib                  int64 = 1 << 20
	imageMinThreshold          = 23 * mib
	imageMaxPerContainer       = 1000 * mib
)

// ImageLocality is the ImageLocality score: it prefers nodes that already
// hold the pod's images (containers, init containers and image volumes),
// weighing each image present by its size times the share of all nodes
// that hold it (so an image on every node does not pull pods together),
// then scaling the sum between 23 MiB (0) and 1000 MiB per image of the
// pod (100). A pod image without a tag or digest is looked up as :latest;
// a node's images are matched by the names in its status.images.
type ImageLocality struct{}

var _ interfaces.PreScorePlugin = ImageLocality{}

// NewImageLocality builds ImageLocality.
func NewImageLocality(interfaces.Handle) (interfaces.Plugin, error) { return ImageLocality{}, nil }

// Name implements interfaces.Plugin.
func (ImageLocality) Name() string { return ImageLocalityName }

// PreScore counts, for the pod's images, the nodes holding each. When every
// feasible node holds the same of them at the same sizes the scores cannot
// rank the nodes, and the pod is not scored.
func (ImageLocality) PreScore(_ context.Context, pod *corev1.Pod, feasible, all []*interfaces.NodeInfo) (interfaces.PodScorer, *interfaces.Status) {
	images := podImages(pod)
	if len(images) == 0 || len(all) == 0 {
		return nil, nil
	}
	wanted := map[string]bool{}
	for _, img := range images {
		wanted[img] = true
	}
	same := true
	var first map[string]int64
	for i, n := range feasible {
		sizes := imageSizes(n.Node, wanted)
		if i == 0 {
			first = sizes
			continue
		}
		if !sameSizes(first, sizes) {
			same = false
			break
		}
	}
	if same {
		return nil, nil
	}
	holders := map[string]int{}
	for _, n := range all {
		if n == nil || n.Node == nil {
			continue
		}
		for name := range imageSizes(n.Node, wanted) {
			holders[name]++
		}
	}
	return imageScorer{images: images, wanted: wanted, holders: holders, nodes: len(all)}, nil
}

type imageScorer struct {
	images  []string
	wanted  map[string]bool
	holders map[string]int
	nodes   int
}

func (s imageScorer) Score(_ context.Context, node *interfaces.NodeInfo) (int64, *interfaces.Status) {
	sizes := imageSizes(node.Node, s.wanted)
	var sum int64
	for _, img := range s.images {
		if size, ok := sizes[img]; ok {
			sum += int64(float64(size) * float64(s.holders[img]) / float64(s.nodes))
		}
	}
	top := imageMaxPerContainer * int64(len(s.images))
	sum = min(max(sum, imageMinThreshold), top)
	return interfaces.MaxNodeScore * (sum - imageMinThreshold) / (top - imageMinThreshold), nil
}

// podImages returns the pod's image references, one per container, init
// container and image volume (repeats included, as each is a pull), with
// :latest added to a reference that has neither tag nor digest.
func podImages(pod *corev1.Pod) []string {
	var out []string
	for i := range pod.Spec.InitContainers {
		out = append(out, normalizedImage(pod.Spec.InitContainers[i].Image))
	}
	for i := range pod.Spec.Containers {
		out = append(out, normalizedImage(pod.Spec.Containers[i].Image))
	}
	for i := range pod.Spec.Volumes {
		if v := pod.Spec.Volumes[i].Image; v != nil {
			out = append(out, normalizedImage(v.Reference))
		}
	}
	return out
}

func normalizedImage(ref string) string {
	if strings.LastIndex(ref, ":") <= strings.LastIndex(ref, "/") {
		return ref + ":latest"
	}
	return ref
}

// imageSizes returns the size of each wanted image the node reports.
func imageSizes(node *corev1.Node, wanted map[string]bool) map[string]int64 {
	var out map[string]int64
	for _, img := range node.Status.Images {
		for _, name := range img.Names {
			if wanted[name] {
				if out == nil {
					out = map[string]int64{}
				}
				out[name] = img.SizeBytes
			}
		}
	}
	return out
}

func sameSizes(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
