package apiserver

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Field validation modes of the fieldValidation query parameter.
const (
	fieldValidationStrict = "Strict"
	fieldValidationWarn   = "Warn"
	fieldValidationIgnore = "Ignore"
)

// fieldValidationMode returns the request's field validation mode (default Warn, as Kubernetes).
func fieldValidationMode(r *http.Request) (string, error) {
	switch v := r.URL.Query().Get("fieldValidation"); v {
	case "", fieldValidationWarn:
		return fieldValidationWarn, nil
	case fieldValidationStrict, fieldValidationIgnore:
		return v, nil
	default:
		return "", apierrors.NewBadRequest(fmt.Sprintf("fieldValidation must be one of \"Ignore\", \"Warn\", or \"Strict\", got %q", v))
	}
}

// readBody reads the request body within the server's limit: 413 beyond it.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	if r.ContentLength > s.cfg.BodyLimit {
		return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d", s.cfg.BodyLimit))
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.BodyLimit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d", s.cfg.BodyLimit))
		}
		return nil, apierrors.NewBadRequest(fmt.Sprintf("reading request body: %v", err))
	}
	return data, nil
}

// bodyJSON converts a request body to JSON according to its Content-Type.
func (s *Server) bodyJSON(r *http.Request, data []byte) ([]byte, error) {
	ct := r.Header.Get("Content-Type")
	mt := "application/json"
	if ct != "" {
		parsed, _, err := mime.ParseMediaType(ct)
		if err != nil {
			return nil, unsupportedMediaType(ct)
		}
		mt = parsed
	}
	switch mt {
	case "application/json", "*/*":
		return data, nil
	case "application/vnd.kubernetes.protobuf":
		return s.protobufToJSON(data)
	case "application/yaml", "application/x-yaml", "text/yaml":
		j, err := yaml.YAMLToJSON(data)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("decoding YAML body: %v", err))
		}
		return j, nil
	default:
		return nil, unsupportedMediaType(ct)
	}
}

// decodeStrictness decodes JSON data into obj honouring the field validation mode: Strict turns
// unknown and duplicate fields into a 400, Warn returns them as warnings, Ignore drops them.
func decodeInto(data []byte, obj any, mode string) (warnings []string, err error) {
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil, apierrors.NewBadRequest("request body is empty")
	}
	var opts []sigsjson.StrictOption
	if mode != fieldValidationIgnore {
		opts = []sigsjson.StrictOption{sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields}
	}
	strictErrs, err := sigsjson.UnmarshalStrict(data, obj, opts...)
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the object provided is unrecognized or malformed: %v", err))
	}
	if len(strictErrs) == 0 || mode == fieldValidationIgnore {
		return nil, nil
	}
	msgs := make([]string, 0, len(strictErrs))
	for _, e := range strictErrs {
		msgs = append(msgs, e.Error())
	}
	if mode == fieldValidationStrict {
		return nil, apierrors.NewBadRequest("strict decoding error: " + strings.Join(msgs, ", "))
	}
	return msgs, nil
}

// unknownFields turns the unknown field paths a strategy reports (custom resources) into a 400
// under Strict or warnings under Warn, with kube-apiserver's messages.
func unknownFields(paths []string, mode string) ([]string, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	msgs := make([]string, 0, len(paths))
	for _, p := range paths {
		msgs = append(msgs, fmt.Sprintf("unknown field %q", p))
	}
	if mode == fieldValidationStrict {
		return nil, apierrors.NewBadRequest("strict decoding error: " + strings.Join(msgs, ", "))
	}
	return msgs, nil
}

// checkKind verifies that the body's apiVersion/kind (when set) match what the URL expects.
func checkKind(obj runtime.Object, want schema.GroupVersionKind, accepted ...schema.GroupVersionKind) error {
	got := obj.GetObjectKind().GroupVersionKind()
	if got.Empty() {
		obj.GetObjectKind().SetGroupVersionKind(want)
		return nil
	}
	for _, a := range append([]schema.GroupVersionKind{want}, accepted...) {
		if got == a || (got.Version == "" && got.Group == "" && got.Kind == a.Kind) {
			obj.GetObjectKind().SetGroupVersionKind(want)
			return nil
		}
	}
	if got.GroupVersion() != want.GroupVersion() {
		return apierrors.NewBadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)",
			got.GroupVersion().String(), want.GroupVersion().String()))
	}
	return apierrors.NewBadRequest(fmt.Sprintf("the kind in the data (%s) does not match the expected kind (%s)", got.Kind, want.Kind))
}

// addWarnings adds Warning headers (RFC 7234 299 style, as Kubernetes).
func addWarnings(w http.ResponseWriter, warnings []string) {
	for _, msg := range warnings {
		w.Header().Add("Warning", "299 - "+strconv.Quote(msg))
	}
}
