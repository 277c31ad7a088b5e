package serviceaccount

import (
	"context"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Lifetimes of requested tokens, as kube-apiserver.
const (
	// DefaultExpirationSeconds is the lifetime of a TokenRequest that names none.
	DefaultExpirationSeconds = 60 * 60
	// MinExpirationSeconds is the shortest lifetime a TokenRequest may ask for.
	MinExpirationSeconds = 10 * 60
	// MaxExpirationSeconds is the longest lifetime a TokenRequest may ask for (2^32 s).
	MaxExpirationSeconds = 1 << 32
	// WarnOnlyBoundTokenExpirationSeconds is the lifetime the kubelet asks for projected tokens;
	// with ExtendExpiration such a pod-bound token for the API audiences lives
	// ExpirationExtensionSeconds and records the asked-for expiry in warnafter.
	WarnOnlyBoundTokenExpirationSeconds = 60*60 + 7
	// ExpirationExtensionSeconds is the lifetime of an extended token (one year).
	ExpirationExtensionSeconds = 365 * 24 * 60 * 60
)

// TokenRequestGVK is the kind of the serviceaccounts/token subresource.
var TokenRequestGVK = authenticationv1.SchemeGroupVersion.WithKind("TokenRequest")

// RequestOptions are the server settings a TokenRequest is answered with.
type RequestOptions struct {
	// APIAudiences are the audiences of a request that names none (kube-apiserver's
	// --api-audiences, which default to the issuer). Empty: the issuer URL.
	APIAudiences []string
	// MaxExpiration caps the lifetime asked for, with a warning
	// (--service-account-max-token-expiration); 0 does not cap.
	MaxExpiration time.Duration
	// ExtendExpiration extends the kubelet's pod-bound tokens (3607 s) to a year
	// (--service-account-extend-token-expiration, on by default).
	ExtendExpiration bool
}

// CreateToken answers POST serviceaccounts/NAME/token in namespace: it returns req with
// status.token and status.expirationTimestamp filled, and warnings for the response. Errors
// are Kubernetes Status errors: 404 for a missing ServiceAccount or bound object, 422 for an
// invalid request, 400 for a bound object of another kind or a pod of another ServiceAccount,
// 409 for a bound object whose uid is not the one named. validate, when not nil, is the
// validating admission of the request (kube-apiserver's createValidation: NodeRestriction
// limits a kubelet to tokens bound to its own pods); it runs after static validation, on the
// defaulted request, before the bound object is looked up.
func (i *Issuer) CreateToken(ctx context.Context, g Getter, namespace, name string, req *authenticationv1.TokenRequest, opts RequestOptions, validate func(context.Context, *authenticationv1.TokenRequest) error) (*authenticationv1.TokenRequest, []string, error) {
	gk := TokenRequestGVK.GroupKind()
	if req.Name != "" && req.Name != name {
		return nil, nil, apierrors.NewInvalid(gk, name, field.ErrorList{
			field.Invalid(field.NewPath("metadata", "name"), req.Name, "must match the service account name if specified")})
	}
	if req.Namespace != "" && req.Namespace != namespace {
		return nil, nil, apierrors.NewInvalid(gk, name, field.ErrorList{
			field.Invalid(field.NewPath("metadata", "namespace"), req.Namespace, "must match the service account namespace if specified")})
	}
	sa, err := g.GetServiceAccount(ctx, namespace, name)
	if err != nil {
		return nil, nil, err
	}
	out := req.DeepCopy()
	out.TypeMeta = metav1.TypeMeta{APIVersion: TokenRequestGVK.GroupVersion().String(), Kind: TokenRequestGVK.Kind}
	auds := opts.APIAudiences
	if len(auds) == 0 {
		auds = []string{i.url}
	}
	if len(out.Spec.Audiences) == 0 {
		out.Spec.Audiences = append([]string(nil), auds...)
	}
	if out.Spec.ExpirationSeconds == nil {
		d := int64(DefaultExpirationSeconds)
		out.Spec.ExpirationSeconds = &d
	}
	out.Name, out.Namespace = sa.Name, sa.Namespace
	now := i.now()
	out.CreationTimestamp = metav1.NewTime(now)
	out.Status = authenticationv1.TokenRequestStatus{}

	var errs field.ErrorList
	expPath := field.NewPath("spec", "expirationSeconds")
	if exp := *out.Spec.ExpirationSeconds; exp < MinExpirationSeconds {
		errs = append(errs, field.Invalid(expPath, exp, "may not specify a duration less than 10 minutes"))
	} else if exp > MaxExpirationSeconds {
		errs = append(errs, field.Invalid(expPath, exp, "may not specify a duration larger than 2^32 seconds"))
	}
	if len(errs) > 0 {
		return nil, nil, apierrors.NewInvalid(gk, "", errs)
	}
	if validate != nil {
		if err := validate(ctx, out.DeepCopy()); err != nil {
			return nil, nil, err
		}
	}

	var b Binding
	if ref := out.Spec.BoundObjectRef; ref != nil {
		gvk := schema.FromAPIVersionAndKind(ref.APIVersion, ref.Kind)
		var uid types.UID
		switch {
		case gvk.Group == "" && gvk.Kind == "Pod":
			pod, err := g.GetPod(ctx, namespace, ref.Name)
			if err != nil {
				return nil, nil, err
			}
			if pod.Spec.ServiceAccountName != name {
				return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("cannot bind token for serviceaccount %q to pod running with different serviceaccount name.", name))
			}
			b.Pod, uid = pod, pod.UID
			if pod.Spec.NodeName != "" {
				node, err := g.GetNode(ctx, pod.Spec.NodeName)
				switch {
				case apierrors.IsNotFound(err):
					// The token still names the node, without its uid.
					b.Node = &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: pod.Spec.NodeName}}
				case err != nil:
					return nil, nil, apierrors.NewInternalError(err)
				default:
					b.Node = node
				}
			}
		case gvk.Group == "" && gvk.Kind == "Secret":
			secret, err := g.GetSecret(ctx, namespace, ref.Name)
			if err != nil {
				return nil, nil, err
			}
			b.Secret, uid = secret, secret.UID
		case gvk.Group == "" && gvk.Kind == "Node":
			node, err := g.GetNode(ctx, ref.Name)
			if err != nil {
				return nil, nil, err
			}
			b.Node, uid = node, node.UID
		default:
			return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("cannot bind token to object of type %s", gvk.String()))
		}
		if ref.UID != "" && uid != ref.UID {
			return nil, nil, apierrors.NewConflict(schema.GroupResource{Group: gvk.Group, Resource: gvk.Kind}, ref.Name,
				fmt.Errorf("the UID in the bound object reference (%s) does not match the UID in record. The object might have been deleted and then recreated", ref.UID))
		}
	}

	var warnings []string
	if maxSec := int64(opts.MaxExpiration / time.Second); maxSec > 0 && *out.Spec.ExpirationSeconds > maxSec {
		warnings = append(warnings, fmt.Sprintf("requested expiration of %d seconds shortened to %d seconds", *out.Spec.ExpirationSeconds, maxSec))
		*out.Spec.ExpirationSeconds = maxSec
	}
	exp := *out.Spec.ExpirationSeconds
	var warnAfter int64
	if opts.ExtendExpiration && b.Pod != nil && exp == WarnOnlyBoundTokenExpirationSeconds && sets.New(auds...).HasAll(out.Spec.Audiences...) {
		warnAfter, exp = exp, ExpirationExtensionSeconds
	}
	tok, _, err := i.Issue(sa, out.Spec.Audiences, time.Duration(exp)*time.Second, time.Duration(warnAfter)*time.Second, b)
	if err != nil {
		return nil, nil, apierrors.NewInternalError(fmt.Errorf("failed to generate token: %w", err))
	}
	out.Status = authenticationv1.TokenRequestStatus{
		Token:               tok,
		ExpirationTimestamp: metav1.NewTime(now.Add(time.Duration(*out.Spec.ExpirationSeconds) * time.Second)),
	}
	return out, warnings, nil
}
