package knownbad

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	cri "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/clusterkit/clusterkit/reference/apiserver/registry"
	"github.com/clusterkit/clusterkit/reference/apiserver/validation"
)

// APIResizingWholePod changes the served resources so that a write of pods/NAME/resize is
// taken whole: the request's spec and metadata are stored (only the status is kept) and
// nothing of the resize rules is checked — as a server that routes the subresource to a
// plain update without the resize strategy.
func APIResizingWholePod(res []*registry.Resource) []*registry.Resource {
	for _, r := range res {
		if r.Resource == "pods" && r.Group == "" {
			if s, ok := r.Strategy.(*validation.PodStrategy); ok {
				r.Strategy = wholePodResize{s}
			}
		}
	}
	return res
}

type wholePodResize struct{ *validation.PodStrategy }

func (w wholePodResize) PrepareForSpecSubresourceUpdate(sub string, newObj, oldObj runtime.Object) bool {
	if sub != validation.SubresourceResize {
		return w.PodStrategy.PrepareForSpecSubresourceUpdate(sub, newObj, oldObj)
	}
	n, ok1 := newObj.(*corev1.Pod)
	o, ok2 := oldObj.(*corev1.Pod)
	if ok1 && ok2 {
		n.Status = *o.Status.DeepCopy()
	}
	return true
}

func (w wholePodResize) ValidateSpecSubresourceUpdate(sub string, newObj, oldObj runtime.Object) (field.ErrorList, bool) {
	if sub != validation.SubresourceResize {
		return w.PodStrategy.ValidateSpecSubresourceUpdate(sub, newObj, oldObj)
	}
	return nil, true
}

// KubeletNotApplyingResize wraps the kubelet's runtime so that UpdateContainerResources answers
// success and changes nothing: a kubelet that reports a resize as done (status resources
// equal to the new values) without the container getting the new limits.
func KubeletNotApplyingResize(rt cri.RuntimeService) cri.RuntimeService {
	return notApplyingResize{rt}
}

type notApplyingResize struct{ cri.RuntimeService }

func (notApplyingResize) UpdateContainerResources(context.Context, string, *runtimeapi.ContainerResources) error {
	return nil
}

// KubeletResizingPastAllocatable wraps the transport of the kubelet's API client so that its
// own Node reads back with 1000 times the allocatable CPU and memory it posted: a kubelet that
// checks a resize against the wrong figure (here: one no resize exceeds) and applies what the
// node cannot hold.
func KubeletResizingPastAllocatable(next http.RoundTripper) http.RoundTripper {
	return inflatedAllocatable{next}
}

type inflatedAllocatable struct{ next http.RoundTripper }

func (t inflatedAllocatable) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || !strings.Contains(req.URL.Path, "/api/v1/nodes/") || req.URL.Query().Get("watch") != "" {
		return t.next.RoundTrip(req)
	}
	req = req.Clone(req.Context())
	req.Header.Set("Accept", "application/json") // readable here, and client-go decodes it
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "json") {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var node corev1.Node
	if json.Unmarshal(body, &node) == nil && node.Kind == "Node" {
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if q, ok := node.Status.Allocatable[name]; ok {
				node.Status.Allocatable[name] = *resource.NewScaledQuantity(q.ScaledValue(resource.Milli)*1000, resource.Milli)
			}
		}
		if out, err := json.Marshal(&node); err == nil {
			body = out
		}
	}
	resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, nil
}
