package knownbad_test

import (
	"crypto/rand"
	"crypto/rsa"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/clusterkit/clusterkit/reference/apiserver/serviceaccount"
	"github.com/clusterkit/clusterkit/reference/knownbad"
)

// TestTokensTrustingSignatureAcceptsExpired shows the other half of the bug of the catalogue's
// auth entry "tokens trusting their signature" (TestAuthSuiteRejectsKnownBadServers runs its
// specs), which no spec
// can wait for (a TokenRequest lives at least 10 minutes): an expired token is accepted where
// the reference authenticator rejects it.
func TestTokensTrustingSignatureAcceptsExpired(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-2 * time.Hour)
	issuer, err := serviceaccount.NewIssuer("https://issuer.test", key, serviceaccount.WithClock(func() time.Time { return past }))
	if err != nil {
		t.Fatal(err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "robot", Namespace: "ns", UID: types.UID("sa-uid")}}
	token, _, err := issuer.Issue(sa, []string{"https://issuer.test"}, time.Hour, 0, serviceaccount.Binding{})
	if err != nil {
		t.Fatal(err)
	}
	good, err := issuer.Authenticator(authenticator.Audiences{"https://issuer.test"}, serviceaccount.ClientGetter(fake.NewClientset(sa)))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := good.AuthenticateToken(t.Context(), token); ok || err == nil {
		t.Fatalf("the reference authenticator accepted an expired token (ok=%v, err=%v)", ok, err)
	}
	if _, ok, err := knownbad.TokensTrustingSignature(good).AuthenticateToken(t.Context(), token); !ok || err != nil {
		t.Fatalf("the known-bad authenticator was expected to accept the expired token (ok=%v, err=%v)", ok, err)
	}
}
