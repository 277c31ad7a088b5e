package knownbad

import (
	"net/http"
	"strings"

	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/apiserver/podsecurity"
	saadmission "github.com/clusterkit/clusterkit/reference/apiserver/serviceaccount/admission"
)

// APIIgnoringPodSecurity configures an API server without Pod Security admission: the
// pod-security.kubernetes.io labels of a namespace are ignored and a privileged pod is
// accepted anywhere.
func APIIgnoringPodSecurity(c *apiserver.Config) { c.Admission = saadmission.New() }

// APIWithoutServiceAccountAdmission configures an API server whose pods keep the
// ServiceAccount they name (none, or one that does not exist) and get no token volume: Pod
// Security admission only.
func APIWithoutServiceAccountAdmission(c *apiserver.Config) {
	psa, err := podsecurity.New(podsecurity.Defaults{}, podsecurity.Exemptions{})
	if err != nil {
		panic(err) // the zero Defaults are valid
	}
	c.Admission = psa
}

// APIStoringSecretsInPlainText configures an API server without encryption at rest: a
// Secret's value lies in the store's files as it was sent.
func APIStoringSecretsInPlainText(c *apiserver.Config) { c.Encryption = nil }

// APIAcceptingAnyDryRun wraps an API server so that a dryRun value other than All is dropped
// before it reaches it: dryRun=true really writes, as a server that checks only for All does.
func APIAcceptingAnyDryRun(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if v, ok := q["dryRun"]; ok && (len(v) != 1 || v[0] != "All") {
			q.Del("dryRun")
			r.URL.RawQuery = q.Encode()
		}
		next.ServeHTTP(w, r)
	})
}

// APIIgnoringNegativeTailLines wraps an API server so that a negative tailLines of pods/log is
// dropped: the request is served as if it asked for the whole log.
func APIIgnoringNegativeTailLines(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if strings.HasSuffix(r.URL.Path, "/log") && strings.HasPrefix(q.Get("tailLines"), "-") {
			q.Del("tailLines")
			r.URL.RawQuery = q.Encode()
		}
		next.ServeHTTP(w, r)
	})
}

// APIIgnoringDryRun wraps an API server so that the dryRun query parameter never reaches it: a
// dry-run create really creates.
func APIIgnoringDryRun(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if _, ok := q["dryRun"]; ok {
			q.Del("dryRun")
			r.URL.RawQuery = q.Encode()
		}
		next.ServeHTTP(w, r)
	})
}
