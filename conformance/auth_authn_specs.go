package conformance

// authnSpecs are the auth behaviours of anonymous access, client certificates, TLS (the PKI and authentication work).
func authnSpecs() []spec[*authEnv] {
	return nil
}
