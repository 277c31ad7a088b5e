package conformance

// tokenSpecs are the auth behaviours of ServiceAccount tokens: TokenRequest, bound tokens, TokenReview, issuer discovery.
func tokenSpecs() []spec[*authEnv] {
	return nil
}
