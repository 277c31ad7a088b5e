package kubelet

import (
	"bytes"
	"context"
	"encoding/pem"
	"fmt"
	"os"
	"sort"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// trustBundleFile adds a projected clusterTrustBundle source to payload: the named
// ClusterTrustBundle's PEM certificates, or those of every bundle of signerName matching
// labelSelector (unset matches nothing, empty everything), deduplicated and in a fixed order.
// A missing bundle (or no match) is an empty file when optional, else an error.
func (w *podWorker) trustBundleFile(ctx context.Context, p *corev1.ClusterTrustBundleProjection, def os.FileMode, payload map[string]volumeFile) error {
	optional := p.Optional != nil && *p.Optional
	api := w.k.client.CertificatesV1().ClusterTrustBundles()
	var bundles []string
	switch {
	case p.Name != nil:
		b, err := api.Get(ctx, *p.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err) && optional:
		case err != nil:
			return fmt.Errorf("while getting ClusterTrustBundle %q: %w", *p.Name, err)
		default:
			bundles = append(bundles, b.Spec.TrustBundle)
		}
	case p.SignerName != nil:
		if p.LabelSelector != nil {
			sel, err := metav1.LabelSelectorAsSelector(p.LabelSelector)
			if err != nil {
				return fmt.Errorf("clusterTrustBundle labelSelector: %w", err)
			}
			list, err := api.List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
			if err != nil {
				return fmt.Errorf("while listing ClusterTrustBundles: %w", err)
			}
			for _, b := range list.Items {
				if b.Spec.SignerName == *p.SignerName {
					bundles = append(bundles, b.Spec.TrustBundle)
				}
			}
		}
		if len(bundles) == 0 && !optional {
			return fmt.Errorf("combination of signerName=%q and labelSelector matched zero ClusterTrustBundles", *p.SignerName)
		}
	default:
		return fmt.Errorf("clusterTrustBundle projection %s names neither a bundle nor a signer", p.Path)
	}
	var blocks [][]byte
	seen := map[string]bool{}
	for _, bundle := range bundles {
		rest := []byte(bundle)
		for {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			enc := pem.EncodeToMemory(b)
			if !seen[string(enc)] {
				seen[string(enc)] = true
				blocks = append(blocks, enc)
			}
		}
	}
	sort.Slice(blocks, func(i, j int) bool { return bytes.Compare(blocks[i], blocks[j]) < 0 })
	payload[p.Path] = volumeFile{data: bytes.Join(blocks, nil), mode: def}
	return nil
}
