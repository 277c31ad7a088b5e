// Package serviceaccount issues and verifies Kubernetes ServiceAccount tokens: JWTs signed
// with the cluster's ServiceAccount key (RS256, the key kubeadm keeps in sa.key) carrying the
// claims kube-apiserver puts in them (iss, sub system:serviceaccount:NS:NAME, aud, exp, iat,
// nbf, jti and the private kubernetes.io claim naming the ServiceAccount and the pod, secret
// or node the token is bound to), with the kid header upstream derives from the public key.
//
// It holds the four pieces the API server is made of for these tokens:
//
//   - Issuer signs tokens (Issue) and answers a TokenRequest, the serviceaccounts/NAME/token
//     subresource (CreateToken): defaults, validation, bound-object checks, expiry cap.
//   - Authenticator is a k8s.io/apiserver authenticator.Token that accepts a token only while
//     its signature, issuer, audience and lifetime hold and its ServiceAccount and bound
//     object still exist with the uids the token names.
//   - Discovery serves the OIDC discovery document and the JWKS of the issuer
//     (/.well-known/openid-configuration, /openid/v1/jwks).
//   - Getter reads ServiceAccounts, pods, secrets and nodes for both (ClientGetter reads them
//     through client-go; the API server reads them from its storage).
//
// Signing and verification use github.com/go-jose/go-jose/v4, as kube-apiserver does.
package serviceaccount
