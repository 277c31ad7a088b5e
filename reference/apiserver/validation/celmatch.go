package validation

import (
	"fmt"
	"sync"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	"k8s.io/apiserver/pkg/cel/environment"
)

// matchConditionCompiler compiles webhook matchConditions with k8s.io/apiserver's admission
// CEL environment (the variables object, oldObject, request, authorizer), as kube-apiserver
// does when it validates a webhook configuration: an expression that does not compile, or
// does not evaluate to a bool, is refused at write time. The environment is built on first
// use and kept by the strategy that owns the compiler.
type matchConditionCompiler struct {
	once     sync.Once
	compiler plugincel.Compiler
}

func (c *matchConditionCompiler) validate(hooks []admissionregistrationv1.MatchCondition, p *field.Path) field.ErrorList {
	if len(hooks) == 0 {
		return nil
	}
	c.once.Do(func() {
		c.compiler = plugincel.NewCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()))
	})
	var errs field.ErrorList
	for i, mc := range hooks {
		if mc.Expression == "" {
			continue // reported as required
		}
		cond := matchconditions.MatchCondition(mc)
		res := c.compiler.CompileCELExpression(&cond, plugincel.OptionalVariableDeclarations{HasAuthorizer: true}, environment.NewExpressions)
		if res.Error != nil {
			errs = append(errs, field.Invalid(p.Index(i).Child("expression"), mc.Expression, fmt.Sprint(res.Error.Detail)))
		}
	}
	return errs
}
