package serviceaccount

import (
	"encoding/json"
	"fmt"
	"net/http"

	jose "github.com/go-jose/go-jose/v4"
)

// The paths of ServiceAccount issuer discovery, as kube-apiserver serves them.
const (
	// OpenIDConfigPath serves the OIDC provider configuration of the issuer.
	OpenIDConfigPath = "/.well-known/openid-configuration"
	// JWKSPath serves the JSON Web Key Set tokens are verified with.
	JWKSPath = "/openid/v1/jwks"
	// discoveryMaxAge is how long clients may cache both documents (seconds).
	discoveryMaxAge = 3600
)

// OpenIDConfig is the discovery document: the subset of OIDC provider metadata
// kube-apiserver publishes.
type OpenIDConfig struct {
	Issuer                           string   `json:"issuer"`
	JWKSURI                          string   `json:"jwks_uri"`
	ResponseTypesSupported           []string `json:"response_types_supported"`
	SubjectTypesSupported            []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`
}

// Discovery serves the issuer's discovery document and key set.
type Discovery struct {
	config, keys []byte
}

// Discovery returns the discovery documents of the issuer, rendered once.
func (i *Issuer) Discovery() (*Discovery, error) {
	jwk := jose.JSONWebKey{Algorithm: string(jose.RS256), Key: i.PublicKey(), KeyID: i.keyID, Use: "sig"}
	if !jwk.Valid() || !jwk.IsPublic() {
		return nil, fmt.Errorf("serviceaccount: the issuer's public key is not a valid JWK")
	}
	keys, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk}})
	if err != nil {
		return nil, fmt.Errorf("serviceaccount: encoding the JWKS: %w", err)
	}
	config, err := json.Marshal(OpenIDConfig{
		Issuer:                           i.url,
		JWKSURI:                          i.jwksURI,
		ResponseTypesSupported:           []string{"id_token"},
		SubjectTypesSupported:            []string{"public"},
		IDTokenSigningAlgValuesSupported: []string{string(jose.RS256)},
	})
	if err != nil {
		return nil, fmt.Errorf("serviceaccount: encoding the discovery document: %w", err)
	}
	return &Discovery{config: config, keys: keys}, nil
}

// Serves reports whether path is one of the discovery paths.
func (d *Discovery) Serves(path string) bool {
	return path == OpenIDConfigPath || path == JWKSPath
}

// ServeHTTP answers GET of the two discovery paths (404 for any other path, 405 for other
// methods).
func (d *Discovery) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body []byte
	ct := "application/json"
	switch r.URL.Path {
	case OpenIDConfigPath:
		body = d.config
	case JWKSPath:
		body, ct = d.keys, "application/jwk-set+json"
	default:
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", discoveryMaxAge))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
}
