package rbac

import (
	"context"

	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	"k8s.io/apiserver/pkg/authorization/union"
)

// ServerAuthorizer is an authorizer.Authorizer that also resolves a user's rules
// (SelfSubjectRulesReview reads them through authorizer.RuleResolver).
type ServerAuthorizer struct {
	authorizer.Authorizer
	resolver authorizer.RuleResolver
}

var _ authorizer.RuleResolver = ServerAuthorizer{}

// RulesFor implements authorizer.RuleResolver.
func (s ServerAuthorizer) RulesFor(ctx context.Context, u user.Info, namespace string) ([]authorizer.ResourceRuleInfo, []authorizer.NonResourceRuleInfo, bool, error) {
	return s.resolver.RulesFor(ctx, u, namespace)
}

// RBAC is what NewServerAuthorizer puts last in the chain: an *Authorizer, or a wrapper of one.
type RBAC interface {
	authorizer.Authorizer
	authorizer.RuleResolver
}

// NewServerAuthorizer composes the API server's authorizer as kube-apiserver does with
// --authorization-mode=...,RBAC: members of system:masters are allowed everything, then each
// of before decides in turn (the Node authorizer), then RBAC. The first to allow or deny wins;
// nobody's opinion is a 403.
func NewServerAuthorizer(r RBAC, before ...union.NamedAuthorizer) (ServerAuthorizer, error) {
	chain := []union.NamedAuthorizer{{AuthorizerName: "privileged-groups", Authorizer: authorizerfactory.NewPrivilegedGroups(user.SystemPrivilegedGroup)}}
	var resolvers []authorizer.RuleResolver
	for _, b := range before {
		chain = append(chain, b)
		if rr, ok := b.Authorizer.(authorizer.RuleResolver); ok {
			resolvers = append(resolvers, rr)
		}
	}
	chain = append(chain, union.NamedAuthorizer{AuthorizerName: "rbac", Authorizer: r})
	resolvers = append(resolvers, r)
	a, err := union.New(chain...)
	if err != nil {
		return ServerAuthorizer{}, err
	}
	return ServerAuthorizer{Authorizer: a, resolver: union.NewRuleResolvers(resolvers...)}, nil
}

// Setup is RBAC composed for one API server, the way a closed server uses it:
//
//	s, err := rbac.NewSetup()                     // before the server exists
//	cfg.Access.Authorizer = s.Authorizer          // apiserver.Config
//	cfg.Admission = s.Admission                   // or chained with other plugins
//	... serve ...
//	err = s.RBAC.Start(ctx, loopback)             // once it serves: bootstrap policy, informers
//
// Until Start returns only members of system:masters (and whatever before allows) get in.
type Setup struct {
	// RBAC is the RBAC authorizer; Start it once the server serves.
	RBAC *Authorizer
	// Authorizer is the server's whole authorizer (NewServerAuthorizer).
	Authorizer ServerAuthorizer
	// Admission is the escalation check on writes of roles and bindings.
	Admission *EscalationCheck
}

// NewSetup builds RBAC, the server's authorizer (system:masters, then before, then RBAC) and
// the escalation check. It does not dial.
func NewSetup(before ...union.NamedAuthorizer) (*Setup, error) {
	r := New()
	authz, err := NewServerAuthorizer(r, before...)
	if err != nil {
		return nil, err
	}
	return &Setup{RBAC: r, Authorizer: authz, Admission: NewEscalationCheck(r, authz)}, nil
}
