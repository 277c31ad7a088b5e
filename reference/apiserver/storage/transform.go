package storage

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/storage/value"

	"github.com/clusterkit/clusterkit/reference/apiserver/registry"
)

// Transformers are the value transformers of stored objects per resource (encryption at rest:
// k8s.io/apiserver's value.Transformer, usually built from an EncryptionConfiguration by
// package encryption). A resource is looked up by its exact group and resource, then by its
// group with resource "*" ("*.apps"), then by group and resource "*" ("*.*"); a resource
// without a transformer is stored as it is.
type Transformers map[schema.GroupResource]value.Transformer

// For returns the transformer of gr, nil when its values are stored as they are.
func (t Transformers) For(gr schema.GroupResource) value.Transformer {
	if len(t) == 0 {
		return nil
	}
	for _, k := range []schema.GroupResource{gr, {Group: gr.Group, Resource: "*"}, {Group: "*", Resource: "*"}} {
		if tr, ok := t[k]; ok {
			return tr
		}
	}
	return nil
}

// encryptedPrefix starts every value written by an encrypting provider:
// k8s:enc:<provider>:<version>:<key name>:.
const encryptedPrefix = "k8s:enc:"

// toStorage transforms the plain stored form of an object into the bytes written at key.
func (o *Objects) toStorage(ctx context.Context, res *registry.Resource, key string, plain []byte) ([]byte, error) {
	t := o.transformers.For(res.GroupResource())
	if t == nil {
		return plain, nil
	}
	out, err := t.TransformToStorage(ctx, plain, value.DefaultContext(key))
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("encrypting %s %s: %w", res.Resource, key, err))
	}
	return out, nil
}

// fromStorage transforms the bytes read at key back into the plain stored form. stale is true
// when they were not written with the first (current) provider and key, so that an update
// rewrites them even if nothing else changed (key rotation by re-writing every object).
func (o *Objects) fromStorage(ctx context.Context, res *registry.Resource, key string, stored []byte) (plain []byte, stale bool, err error) {
	t := o.transformers.For(res.GroupResource())
	if t == nil {
		if bytes.HasPrefix(stored, []byte(encryptedPrefix)) {
			return nil, false, apierrors.NewInternalError(fmt.Errorf("%s is stored encrypted with %s but the encryption configuration has no provider for %s",
				key, describeEncryption(stored), res.GroupResource()))
		}
		return stored, false, nil
	}
	out, stale, err := t.TransformFromStorage(ctx, stored, value.DefaultContext(key))
	if err != nil {
		if bytes.HasPrefix(stored, []byte(encryptedPrefix)) {
			return nil, false, apierrors.NewInternalError(fmt.Errorf("cannot decrypt %s, stored encrypted with %s: %w (is the key still in the encryption configuration?)",
				key, describeEncryption(stored), err))
		}
		return nil, false, apierrors.NewInternalError(fmt.Errorf("cannot read %s: %w", key, err))
	}
	return out, stale, nil
}

// describeEncryption names the provider and key of an encrypted value from its prefix
// k8s:enc:<provider>:<version>:<key name>:.
func describeEncryption(stored []byte) string {
	rest := string(stored[len(encryptedPrefix):])
	parts := strings.SplitN(rest, ":", 4)
	if len(parts) < 4 {
		return "an unknown provider"
	}
	return fmt.Sprintf("provider %s (%s) key %q", parts[0], parts[1], parts[2])
}
