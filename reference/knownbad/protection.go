package knownbad

import "github.com/clusterkit/clusterkit/reference/apiserver"

// APIIgnoringPodSecurity configures an API server without Pod Security admission: the
// pod-security.kubernetes.io labels of a namespace are ignored and a privileged pod is
// accepted anywhere.
func APIIgnoringPodSecurity(c *apiserver.Config) { c.Admission = nil }

// APIStoringSecretsInPlainText configures an API server without encryption at rest: a
// Secret's value lies in the store's files as it was sent.
func APIStoringSecretsInPlainText(c *apiserver.Config) { c.Encryption = nil }
