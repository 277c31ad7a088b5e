package encryption

import (
	"crypto/aes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apiserver/pkg/apis/apiserver"
	apiserverv1 "k8s.io/apiserver/pkg/apis/apiserver/v1"
	"k8s.io/apiserver/pkg/apis/apiserver/validation"
	"k8s.io/apiserver/pkg/storage/value"
	aestransformer "k8s.io/apiserver/pkg/storage/value/encrypt/aes"
	"k8s.io/apiserver/pkg/storage/value/encrypt/identity"
	"k8s.io/apiserver/pkg/storage/value/encrypt/secretbox"
	"sigs.k8s.io/yaml"

	"github.com/clusterkit/clusterkit/reference/apiserver/storage"
)

// The prefixes of the encrypting providers, as kube-apiserver writes them.
const (
	prefixAESCBC    = "k8s:enc:aescbc:v1:"
	prefixAESGCM    = "k8s:enc:aesgcm:v1:"
	prefixSecretbox = "k8s:enc:secretbox:v1:"
)

// Load reads an EncryptionConfiguration file (--encryption-provider-config) into the
// transformers of the resources it lists.
func Load(path string) (storage.Transformers, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading encryption provider configuration file %q: %w", path, err)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("encryption provider configuration file %q is empty", path)
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("encryption provider configuration file %q: %w", path, err)
	}
	return t, nil
}

// Parse decodes and validates an EncryptionConfiguration (YAML or JSON) and builds the
// transformers of the resources it lists.
func Parse(data []byte) (storage.Transformers, error) {
	scheme := runtime.NewScheme()
	if err := apiserver.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := apiserverv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	codecs := serializer.NewCodecFactory(scheme, serializer.EnableStrict)
	obj, gvk, err := codecs.UniversalDecoder().Decode(data, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("decoding: %w", err)
	}
	cfg, ok := obj.(*apiserver.EncryptionConfiguration)
	if !ok {
		return nil, fmt.Errorf("got %v, want an EncryptionConfiguration", gvk)
	}
	if err := validation.ValidateEncryptionConfiguration(cfg, false).ToAggregate(); err != nil {
		return nil, err
	}
	return transformers(cfg)
}

// transformers builds one prefix transformer per resource, its providers in the order of the
// configuration, a resource listed in several entries getting the providers of each.
func transformers(cfg *apiserver.EncryptionConfiguration) (storage.Transformers, error) {
	perResource := map[schema.GroupResource][]value.PrefixTransformer{}
	for _, rc := range cfg.Resources {
		providers, err := providerTransformers(rc.Providers)
		if err != nil {
			return nil, err
		}
		for _, r := range rc.Resources {
			gr := schema.ParseGroupResource(r)
			for _, mask := range []schema.GroupResource{{Group: gr.Group, Resource: "*"}, {Group: "*", Resource: "*"}} {
				if _, masked := perResource[mask]; masked && mask != gr {
					return nil, fmt.Errorf("resource %q is masked by earlier rule %q", r, mask.String())
				}
			}
			perResource[gr] = append(perResource[gr], providers...)
		}
	}
	out := make(storage.Transformers, len(perResource))
	for gr, list := range perResource {
		out[gr] = value.NewPrefixTransformers(errors.New("no matching prefix found"), list...)
	}
	return out, nil
}

func providerTransformers(providers []apiserver.ProviderConfiguration) ([]value.PrefixTransformer, error) {
	var out []value.PrefixTransformer
	for _, p := range providers {
		var (
			t   value.PrefixTransformer
			err error
		)
		switch {
		case p.AESGCM != nil:
			t, err = keyed(prefixAESGCM, p.AESGCM.Keys, func(key []byte) (value.Transformer, error) {
				block, err := aes.NewCipher(key)
				if err != nil {
					return nil, err
				}
				return aestransformer.NewGCMTransformer(block)
			})
		case p.AESCBC != nil:
			t, err = keyed(prefixAESCBC, p.AESCBC.Keys, func(key []byte) (value.Transformer, error) {
				block, err := aes.NewCipher(key)
				if err != nil {
					return nil, err
				}
				return aestransformer.NewCBCTransformer(block), nil
			})
		case p.Secretbox != nil:
			t, err = keyed(prefixSecretbox, p.Secretbox.Keys, func(key []byte) (value.Transformer, error) {
				if len(key) != 32 {
					return nil, fmt.Errorf("expected key size 32 for secretbox provider, got %v", len(key))
				}
				return secretbox.NewSecretboxTransformer([32]byte(key)), nil
			})
		case p.Identity != nil:
			t = value.PrefixTransformer{Transformer: identity.NewEncryptCheckTransformer(), Prefix: []byte{}}
		case p.KMS != nil:
			err = fmt.Errorf("provider kms %q: KMS providers are not supported", p.KMS.Name)
		default:
			err = errors.New("provider does not contain any of the expected providers: AESGCM, AESCBC, Secretbox, Identity")
		}
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// keyed builds the transformer of one provider with named keys: written with the first key,
// read with the key whose name prefixes the value.
func keyed(prefix string, keys []apiserver.Key, build func(key []byte) (value.Transformer, error)) (value.PrefixTransformer, error) {
	if len(keys) == 0 {
		return value.PrefixTransformer{}, fmt.Errorf("%sprovider has no valid keys", prefix)
	}
	var perKey []value.PrefixTransformer
	for _, k := range keys {
		if k.Name == "" {
			return value.PrefixTransformer{}, errors.New("key with invalid name provided")
		}
		secret, err := base64.StdEncoding.DecodeString(k.Secret)
		if err != nil {
			return value.PrefixTransformer{}, fmt.Errorf("could not obtain secret for named key %s: %w", k.Name, err)
		}
		t, err := build(secret)
		if err != nil {
			return value.PrefixTransformer{}, fmt.Errorf("error while creating transformer for named key %s: %w", k.Name, err)
		}
		perKey = append(perKey, value.PrefixTransformer{Transformer: t, Prefix: []byte(k.Name + ":")})
	}
	return value.PrefixTransformer{
		Transformer: value.NewPrefixTransformers(fmt.Errorf("no matching key was found for the provided %s transformer", prefix), perKey...),
		Prefix:      []byte(prefix),
	}, nil
}

// DefaultResources are the resources clusterkit up encrypts.
var DefaultResources = []string{"secrets"}

// Generate returns an EncryptionConfiguration encrypting resources with aescbc under one
// random 32-byte key named keyName, and identity second so that values written before
// encryption was turned on stay readable.
func Generate(resources []string, keyName string) ([]byte, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generating an encryption key: %w", err)
	}
	cfg := apiserverv1.EncryptionConfiguration{
		TypeMeta: metav1.TypeMeta{APIVersion: apiserverv1.SchemeGroupVersion.String(), Kind: "EncryptionConfiguration"},
		Resources: []apiserverv1.ResourceConfiguration{{
			Resources: resources,
			Providers: []apiserverv1.ProviderConfiguration{
				{AESCBC: &apiserverv1.AESConfiguration{Keys: []apiserverv1.Key{{Name: keyName, Secret: base64.StdEncoding.EncodeToString(key)}}}},
				{Identity: &apiserverv1.IdentityConfiguration{}},
			},
		}},
	}
	return yaml.Marshal(cfg)
}

// EnsureDefault writes a generated configuration encrypting DefaultResources to path (mode
// 0600) unless the file exists. The key must survive restarts: a lost
// key makes every value written under it unreadable.
func EnsureDefault(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	data, err := Generate(DefaultResources, "key1")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}
