// Package authn builds the API server's request authenticator from kube-apiserver's own pieces
// in k8s.io/apiserver: x509 client certificates verified against the cluster CA (CN is the
// user, O the groups), bearer tokens and websocket protocol tokens checked by a static token
// file (kube-apiserver's --token-auth-file) and any further token authenticators
// (ServiceAccount JWTs), every authenticated user added to system:authenticated. Anonymous
// access is not here: apiserver.Access.Anonymous and AnonymousPaths decide it.
package authn
