package main

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/apiserver/pkg/admission"

	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/apiserver/encryption"
	"github.com/clusterkit/clusterkit/reference/apiserver/podsecurity"
	saadmission "github.com/clusterkit/clusterkit/reference/apiserver/serviceaccount/admission"
)

// encryptionConfigFile is the EncryptionConfiguration up generates in its data dir.
const encryptionConfigFile = "encryption-config.yaml"

// defaultPodSecurity is the level up enforces where a namespace says nothing.
const defaultPodSecurity = "baseline"

// upProtection sets the API server's encryption at rest (--encryption-provider-config, by
// default a generated configuration encrypting Secrets) and Pod Security admission
// (--pod-security-default), after ServiceAccount admission (a pod's ServiceAccount must exist;
// its token volume is added).
func upProtection(o *upOptions, cfg *apiserver.Config, say func(string, ...any)) error {
	path := o.encryptionConfig
	switch path {
	case "none":
		say("encryption at rest is off (--encryption-provider-config none): Secrets are stored in plain text")
	case "":
		path = filepath.Join(o.dataDir, encryptionConfigFile)
		if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
			return fmt.Errorf("creating data dir: %w", err)
		}
		if err := encryption.EnsureDefault(path); err != nil {
			return fmt.Errorf("writing the encryption configuration: %w", err)
		}
		fallthrough
	default:
		t, err := encryption.Load(path)
		if err != nil {
			return fmt.Errorf("--encryption-provider-config: %w", err)
		}
		cfg.Encryption = t
		say("encrypting stored values as %s says", path)
	}
	var exempt []string
	for _, ns := range o.podSecurityExempt {
		if ns != "" {
			exempt = append(exempt, ns)
		}
	}
	psa, err := podsecurity.New(podsecurity.Level(o.podSecurity), podsecurity.Exemptions{Namespaces: exempt})
	if err != nil {
		return fmt.Errorf("--pod-security-default: %w", err)
	}
	cfg.Admission = admission.NewChainHandler(saadmission.New(), psa)
	return nil
}
