package authn

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"testing"
	"time"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/clusterkit/clusterkit/reference/pki"
)

// countingVerifier stands for the upstream x509 authenticator: it accepts the certificates in
// good and counts how often it was asked.
type countingVerifier struct {
	good  map[*x509.Certificate]bool
	calls int
}

func (v *countingVerifier) AuthenticateRequest(req *http.Request) (*authenticator.Response, bool, error) {
	v.calls++
	leaf := req.TLS.PeerCertificates[0]
	if !v.good[leaf] {
		return nil, false, errors.New("verifying certificate failed")
	}
	return &authenticator.Response{User: &user.DefaultInfo{Name: leaf.Subject.CommonName, Groups: leaf.Subject.Organization}}, true, nil
}

func certRequest(certs ...*x509.Certificate) *http.Request {
	return &http.Request{TLS: &tls.ConnectionState{PeerCertificates: certs}}
}

func TestX509CacheVerifiesEachChainOnce(t *testing.T) {
	now := time.Now()
	b, err := pki.Ensure(t.TempDir(), pki.Options{Validity: 2 * x509CacheTTL, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	other, err := pki.Ensure(t.TempDir(), pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	v := &countingVerifier{good: map[*x509.Certificate]bool{b.Admin.Cert: true, b.Scheduler.Cert: true}}
	clk := clocktesting.NewFakePassiveClock(now)
	c := newCachedX509(v, clk)

	auth := func(req *http.Request) (string, error) {
		t.Helper()
		resp, ok, err := c.AuthenticateRequest(req)
		if err != nil || !ok {
			return "", errors.Join(err, errors.New("not authenticated"))
		}
		return resp.User.GetName(), nil
	}
	for i := range 3 {
		if name, err := auth(certRequest(b.Admin.Cert)); err != nil || name != pki.AdminUser {
			t.Fatalf("request %d: %q, %v", i, name, err)
		}
	}
	if v.calls != 1 {
		t.Errorf("the admin's chain was verified %d times in 3 requests, want once", v.calls)
	}
	if name, err := auth(certRequest(b.Scheduler.Cert)); err != nil || name != pki.SchedulerUser {
		t.Errorf("the scheduler: %q, %v", name, err)
	}
	if v.calls != 2 {
		t.Errorf("another chain was not verified: %d calls", v.calls)
	}
	// A chain that fails is verified again each time, and keeps failing.
	for range 2 {
		if _, err := auth(certRequest(other.Admin.Cert)); err == nil {
			t.Error("a foreign certificate authenticated")
		}
	}
	if v.calls != 4 {
		t.Errorf("failures were cached: %d calls, want 4", v.calls)
	}
	// The same leaf presented with a different chain is a different key.
	if _, err := auth(certRequest(b.Admin.Cert, b.CA.Cert)); err != nil || v.calls != 5 {
		t.Errorf("the admin with its CA appended: %v after %d calls, want a fresh verification", err, v.calls)
	}
	// A caller changing its response does not change the cached identity.
	resp, _, _ := c.AuthenticateRequest(certRequest(b.Admin.Cert))
	resp.User.(*user.DefaultInfo).Name = "mallory"
	if name, _ := auth(certRequest(b.Admin.Cert)); name != pki.AdminUser {
		t.Errorf("cached identity changed to %q", name)
	}

	// After the cache's TTL (here also the certificate's expiry is later), verified again.
	calls := v.calls
	clk.SetTime(now.Add(x509CacheTTL + time.Second))
	_, _ = auth(certRequest(b.Admin.Cert))
	if v.calls != calls+1 {
		t.Errorf("not verified again after the cache TTL")
	}
}

func TestX509CacheEndsAtCertificateExpiry(t *testing.T) {
	now := time.Now()
	b, err := pki.Ensure(t.TempDir(), pki.Options{Validity: time.Minute, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	v := &countingVerifier{good: map[*x509.Certificate]bool{b.Admin.Cert: true}}
	clk := clocktesting.NewFakePassiveClock(now)
	c := newCachedX509(v, clk)
	if _, ok, err := c.AuthenticateRequest(certRequest(b.Admin.Cert)); !ok || err != nil {
		t.Fatal(ok, err)
	}
	// Past NotAfter (a minute from now, well within the TTL), the chain goes back to the
	// verifier, which upstream rejects as expired.
	clk.SetTime(b.Admin.Cert.NotAfter.Add(time.Second))
	v.good = nil
	if _, ok, _ := c.AuthenticateRequest(certRequest(b.Admin.Cert)); ok {
		t.Error("an expired certificate authenticated from the cache")
	}
	if v.calls != 2 {
		t.Errorf("%d verifications, want 2", v.calls)
	}
}
