package conformance

// rbacSpecs are the auth behaviours of RBAC authorization, the review APIs, impersonation.
func rbacSpecs() []spec[*authEnv] {
	return nil
}
