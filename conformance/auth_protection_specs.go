package conformance

// protectionSpecs are the auth behaviours of encryption at rest, Pod Security admission, dryRun.
func protectionSpecs() []spec[*authEnv] {
	return nil
}
