// Package encryption reads kube-apiserver's --encryption-provider-config file (an
// apiserver.config.k8s.io/v1 EncryptionConfiguration) into the value transformers the API
// server's storage passes stored objects through (encryption at rest), and writes the default
// configuration clusterkit up uses: Secrets encrypted with aescbc under a random key.
//
// The providers aescbc, aesgcm, secretbox and identity are k8s.io/apiserver's own
// transformers, combined exactly as kube-apiserver combines them: values are written with
// the first provider and its first key, prefixed k8s:enc:<provider>:v1:<key name>:, and read
// with whichever provider and key their prefix names (identity reads unprefixed values). KMS
// providers need a KMS plugin and are refused.
package encryption
