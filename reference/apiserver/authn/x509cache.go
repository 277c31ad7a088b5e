package authn

import (
	"encoding/binary"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/cache"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/utils/clock"
)

// Defaults of the verified-certificate cache.
const (
	// x509CacheTTL bounds how long a verified chain is trusted without verifying it again.
	x509CacheTTL = 5 * time.Minute
	// x509CacheSize is how many distinct chains are remembered (least recently used first out).
	x509CacheSize = 4096
)

// cachedX509 verifies a presented client certificate chain with the upstream x509 request
// authenticator once and then remembers the identity it yielded, keyed by the presented
// chain, until the earliest NotAfter in that chain or x509CacheTTL, whichever comes first. Verification is the dominant cost of an authenticated request (an ECDSA or RSA
// signature check per certificate per request; Kubernetes clients hold one connection and
// present the same chain on each of its requests). Only successes are cached: a chain that
// failed is verified again every time and keeps getting 401. The roots are fixed for the
// authenticator's life (Options.ClientCA), so a cached success cannot outlive a change of CA.
// The same design was proposed upstream (kubernetes/kubernetes#100902, a per-connection
// verification cache).
type cachedX509 struct {
	verify authenticator.Request
	cache  *cache.LRUExpireCache
	ttl    time.Duration
	clock  clock.PassiveClock
}

func newCachedX509(verify authenticator.Request, clk clock.PassiveClock) *cachedX509 {
	return &cachedX509{
		verify: verify,
		cache:  cache.NewLRUExpireCacheWithClock(x509CacheSize, clk),
		ttl:    x509CacheTTL,
		clock:  clk,
	}
}

func (c *cachedX509) AuthenticateRequest(req *http.Request) (*authenticator.Response, bool, error) {
	if req.TLS == nil || len(req.TLS.PeerCertificates) == 0 {
		return nil, false, nil
	}
	chain := req.TLS.PeerCertificates
	// The key is the presented chain itself (length-prefixed DER): comparing it is cheaper
	// than hashing it, and no two chains share a key.
	var key strings.Builder
	for _, cert := range chain {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(cert.Raw)))
		key.Write(n[:])
		key.Write(cert.Raw)
	}
	if v, ok := c.cache.Get(key.String()); ok {
		return cloneResponse(v.(*authenticator.Response)), true, nil
	}
	resp, ok, err := c.verify.AuthenticateRequest(req)
	if err != nil || !ok {
		return resp, ok, err
	}
	ttl := c.ttl
	now := c.clock.Now()
	for _, cert := range chain {
		ttl = min(ttl, cert.NotAfter.Sub(now))
	}
	if ttl > 0 {
		c.cache.Add(key.String(), cloneResponse(resp), ttl)
	}
	return resp, true, nil
}

// cloneResponse copies a response so that no caller shares the cached one.
func cloneResponse(r *authenticator.Response) *authenticator.Response {
	out := *r
	if r.User != nil {
		out.User = &user.DefaultInfo{
			Name:   r.User.GetName(),
			UID:    r.User.GetUID(),
			Groups: slices.Clone(r.User.GetGroups()),
			Extra:  maps.Clone(r.User.GetExtra()),
		}
	}
	out.Audiences = slices.Clone(r.Audiences)
	return &out
}
