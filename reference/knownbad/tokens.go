package knownbad

import (
	"context"
	"fmt"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	apiserverserviceaccount "k8s.io/apiserver/pkg/authentication/serviceaccount"

	"github.com/clusterkit/clusterkit/reference/apiserver/serviceaccount"
)

// TokensTrustingSignature authenticates ServiceAccount tokens by their signature, issuer and
// audience alone: it never looks at exp or nbf and never checks that the ServiceAccount, pod or
// Secret a token names still exists with the same uid. A token outlives its pod, its Secret,
// its ServiceAccount and its expiry.
func TokensTrustingSignature(sa *serviceaccount.Authenticator) authenticator.Token {
	return authenticator.TokenFunc(func(ctx context.Context, token string) (*authenticator.Response, bool, error) {
		c, ok, err := sa.Verify(token)
		if !ok || err != nil {
			return nil, false, err
		}
		tokenAuds := authenticator.Audiences(c.Public.Audience)
		auds := tokenAuds
		if requested, found := authenticator.AudiencesFrom(ctx); found {
			if auds = tokenAuds.Intersect(requested); len(auds) == 0 {
				return nil, false, fmt.Errorf("token audiences %q is invalid for the target audiences %q", tokenAuds, requested)
			}
		}
		k := c.Kubernetes
		info := &apiserverserviceaccount.ServiceAccountInfo{Namespace: k.Namespace, Name: k.ServiceAccount.Name, UID: k.ServiceAccount.UID}
		if k.Pod != nil {
			info.PodName, info.PodUID = k.Pod.Name, k.Pod.UID
		}
		return &authenticator.Response{User: info.UserInfo(), Audiences: auds}, true, nil
	})
}
