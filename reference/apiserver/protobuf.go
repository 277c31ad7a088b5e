package apiserver

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterkit/clusterkit/reference/apiserver/registry"
)

// Kubernetes protobuf media types: objects ("k8s\x00" followed by a runtime.Unknown carrying
// the TypeMeta and the object's bytes) and watch streams (length-prefixed metav1.WatchEvent
// frames whose Object.Raw is an object in the first form).
const (
	mediaTypeProtobuf      = "application/vnd.kubernetes.protobuf"
	mediaTypeProtobufWatch = mediaTypeProtobuf + ";stream=watch"
)

// protobufCapable reports whether obj's Go type has generated protobuf marshalling (every
// built-in kind, Status, PartialObjectMetadata; not custom resources, which are unstructured,
// nor meta.k8s.io Table).
func protobufCapable(obj runtime.Object) bool {
	switch obj.(type) {
	case nil:
		return false
	case runtime.ProtobufMarshaller, interface{ Marshal() ([]byte, error) }:
		return true
	}
	return false
}

// resourceProtobufCapable reports whether res's objects can be answered in protobuf.
func resourceProtobufCapable(res *registry.Resource) bool {
	return res.New != nil && protobufCapable(res.New())
}

// encodeProtobuf encodes obj with the scheme's protobuf serializer. An object without kind
// and apiVersion (the envelope carries them) gets them from the scheme on a copy, so that
// objects shared between requests are never written to.
func (s *Server) encodeProtobuf(obj runtime.Object) ([]byte, error) {
	if obj.GetObjectKind().GroupVersionKind().Empty() {
		kinds, _, err := s.scheme.ObjectKinds(obj)
		if err != nil {
			return nil, fmt.Errorf("encoding %T as protobuf: %w", obj, err)
		}
		obj = obj.DeepCopyObject()
		obj.GetObjectKind().SetGroupVersionKind(kinds[0])
	}
	var buf bytes.Buffer
	if err := s.protobuf.EncodeWithAllocator(obj, &buf, &runtime.SimpleAllocator{}); err != nil {
		return nil, fmt.Errorf("encoding %T as protobuf: %w", obj, err)
	}
	return buf.Bytes(), nil
}

// protobufResponse is the writer of a request whose client negotiated Kubernetes protobuf:
// writeJSON encodes the objects it is given, and so writeError the Status, in protobuf. Flush
// and Hijack pass through (watches flush).
type protobufResponse struct {
	http.ResponseWriter
	s *Server
}

// write writes obj in protobuf with code; an object that cannot be encoded is a 500 Status.
func (p *protobufResponse) write(code int, obj runtime.Object) {
	data, err := p.s.encodeProtobuf(obj)
	if err != nil {
		st := statusFor(err)
		if data, err = p.s.encodeProtobuf(st); err != nil {
			// Status always has protobuf marshalling; this cannot happen.
			http.Error(p.ResponseWriter, err.Error(), http.StatusInternalServerError)
			return
		}
		code = int(st.Code)
	}
	p.Header().Set("Content-Type", mediaTypeProtobuf)
	p.WriteHeader(code)
	_, _ = p.Write(data)
}

func (p *protobufResponse) Flush() {
	if f, ok := p.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (p *protobufResponse) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := p.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("apiserver: the response writer cannot be hijacked")
	}
	return h.Hijack()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (p *protobufResponse) Unwrap() http.ResponseWriter { return p.ResponseWriter }

// protobufSubresource reports whether responses of subresource sub ("" for the resource
// itself) are API objects a protobuf client can receive in protobuf. Streams (log, exec,
// attach, port-forward, proxy) keep their own content types.
func protobufSubresource(sub string) bool {
	switch sub {
	case "", "status", "approval", "ephemeralcontainers", "resize", "scale", "binding", "eviction", "token", "finalize":
		return true
	}
	return false
}
