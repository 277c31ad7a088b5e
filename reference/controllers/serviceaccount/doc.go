// Package serviceaccount is the reference ServiceAccount controller (kube-controller-manager's
// serviceaccount-controller): it keeps a ServiceAccount named "default" in every namespace
// that is Active, creating it when a namespace appears and again whenever it is deleted.
// Namespaces being deleted are left alone (the API server refuses new objects in them).
//
// Tokens for the accounts (serviceaccounts/token, token Secrets) are not this controller's
// business.
package serviceaccount
