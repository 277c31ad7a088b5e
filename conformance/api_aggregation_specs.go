package conformance

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/onsi/gomega"
	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggregatorclient "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
	"k8s.io/utils/ptr"
)

// srcAggregation is the source of the API aggregation behaviours.
const srcAggregation = "Kubernetes: Configure the Aggregation Layer (kubernetes.io/docs/tasks/extend-kubernetes/configure-aggregation-layer/), Kubernetes API Aggregation Layer (kubernetes.io/docs/concepts/extend-kubernetes/api-extension/apiserver-aggregation/); kube-aggregator's proxy and APIService availability controller; e2e test/e2e/apimachinery/aggregator.go"

func apiAggregationSpecs() []spec[*apiEnv] {
	loopback := func(b Behavior) Behavior {
		b.Needs = append(b.Needs, LoopbackWebhooks)
		return b
	}
	return []spec[*apiEnv]{
		{api("api.aggregation.authentication-configmap", "kube-system/extension-apiserver-authentication MUST hold the client CA (client-ca-file), the front-proxy CA (requestheader-client-ca-file) and the request header names extension API servers trust: X-Remote-User, X-Remote-Group and the X-Remote-Extra- prefix", srcAggregation), specAggregationConfigMap},
		{loopback(api("api.aggregation.proxy-identity", "a request to the group-version of an Available APIService MUST reach its extension server with the requester's user name in X-Remote-User and every group in X-Remote-Group, and the extension server's answer MUST come back to the client", srcAggregation)), specAggregationIdentity},
		{loopback(api("api.aggregation.front-proxy-certificate", "a request the API server proxies to an extension server MUST present a client certificate signed by requestheader-client-ca-file whose common name is one of requestheader-allowed-names", srcAggregation)), specAggregationFrontProxyCert},
		{loopback(api("api.aggregation.discovery", "the group-version of an Available APIService MUST be listed in /apis (legacy APIGroupList) and, with the extension server's resources, in the aggregated discovery document of /apis", srcAggregation)), specAggregationDiscovery},
		{api("api.aggregation.service-not-found", "an APIService whose Service does not exist MUST report condition Available False with reason ServiceNotFound", srcAggregation), specAggregationServiceNotFound},
		{api("api.aggregation.missing-endpoints", "an APIService whose Service's EndpointSlices hold no ready endpoint MUST report condition Available False with reason MissingEndpoints", srcAggregation), specAggregationMissingEndpoints},
		{api("api.aggregation.unavailable-503", "a request to the group-version of an APIService that is not Available MUST fail with 503 Service Unavailable", srcAggregation), specAggregationUnavailable},
	}
}

// extensionServer is an HTTPS extension API server a spec runs on loopback, serving one
// group-version with a namespaced "widgets" resource; it records the last request.
type extensionServer struct {
	group, version string
	caBundle       []byte
	port           int32

	mu     sync.Mutex
	last   http.Header
	client *x509.Certificate
}

func (x *extensionServer) serve(w http.ResponseWriter, r *http.Request) {
	x.mu.Lock()
	x.last = r.Header.Clone()
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		x.client = r.TLS.PeerCertificates[0]
	}
	x.mu.Unlock()
	gv := x.group + "/" + x.version
	w.Header().Set("Content-Type", "application/json")
	switch p := strings.TrimSuffix(r.URL.Path, "/"); {
	case p == "/apis":
		// Only the legacy list: aggregated discovery falls back to the resource list.
		_ = json.NewEncoder(w).Encode(&metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"},
			Groups: []metav1.APIGroup{{Name: x.group, Versions: []metav1.GroupVersionForDiscovery{{GroupVersion: gv, Version: x.version}},
				PreferredVersion: metav1.GroupVersionForDiscovery{GroupVersion: gv, Version: x.version}}}})
	case p == "/apis/"+gv:
		_ = json.NewEncoder(w).Encode(&metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: gv,
			APIResources: []metav1.APIResource{{Name: "widgets", SingularName: "widget", Namespaced: true, Kind: "Widget", Verbs: metav1.Verbs{"get", "list"}}}})
	case strings.HasPrefix(p, "/apis/"+gv+"/") && strings.HasSuffix(p, "/widgets"):
		_, _ = fmt.Fprintf(w, `{"apiVersion":%q,"kind":"WidgetList","metadata":{"resourceVersion":"1"},"items":[]}`, gv)
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = fmt.Fprint(w, `{"apiVersion":"v1","kind":"Status","status":"Failure","reason":"NotFound","code":404}`)
	}
}

func (x *extensionServer) lastRequest() (http.Header, *x509.Certificate) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.last, x.client
}

// aggregationGroup is a group name of the spec's own.
func aggregationGroup(e *apiEnv) string { return e.ns + ".aggregation.clusterkit.io" }

// startExtensionServer serves an extension server on 127.0.0.1 for the Service svc of the
// spec's namespace (its certificate names svc.NAMESPACE.svc, as the API server verifies),
// creates svc as an ExternalName Service for localhost, and registers the APIService, deleted
// when the spec ends.
func startExtensionServer(ctx context.Context, g gomega.Gomega, e *apiEnv) (*extensionServer, aggregatorclient.Interface) {
	x := &extensionServer{group: aggregationGroup(e), version: "v1"}
	cert, caPEM, err := serviceCertificate("extension." + e.ns + ".svc")
	g.Expect(err).NotTo(gomega.HaveOccurred())
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequestClientCert, MinVersion: tls.VersionTLS12})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	x.caBundle, x.port = caPEM, int32(ln.Addr().(*net.TCPAddr).Port)
	srv := &http.Server{Handler: http.HandlerFunc(x.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	e.c.Cleanup(func() { _ = srv.Close() })
	_, err = e.client.CoreV1().Services(e.ns).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "extension"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "localhost"}}, metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	agg := createAPIService(ctx, g, e, x.group, "extension", x.port, caPEM)
	return x, agg
}

// createAPIService registers v1.GROUP for the Service svc of the spec's namespace.
func createAPIService(ctx context.Context, g gomega.Gomega, e *apiEnv, group, svc string, port int32, caBundle []byte) aggregatorclient.Interface {
	agg, err := aggregatorclient.NewForConfig(e.server.Config)
	g.Expect(err).NotTo(gomega.HaveOccurred())
	as := &apiregistrationv1.APIService{ObjectMeta: metav1.ObjectMeta{Name: "v1." + group},
		Spec: apiregistrationv1.APIServiceSpec{Group: group, Version: "v1", GroupPriorityMinimum: 1000, VersionPriority: 15,
			Service: &apiregistrationv1.ServiceReference{Namespace: e.ns, Name: svc, Port: ptr.To(port)}, CABundle: caBundle}}
	if caBundle == nil {
		as.Spec.InsecureSkipTLSVerify = true
	}
	_, err = agg.ApiregistrationV1().APIServices().Create(ctx, as, metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	e.c.Cleanup(func() {
		_ = agg.ApiregistrationV1().APIServices().Delete(context.Background(), as.Name, metav1.DeleteOptions{})
	})
	return agg
}

// availableCondition polls the APIService until its Available condition has status and
// reason (any reason when reason is "").
func availableCondition(ctx context.Context, g gomega.Gomega, agg aggregatorclient.Interface, name string, status apiregistrationv1.ConditionStatus, reason string) {
	var last []apiregistrationv1.APIServiceCondition
	g.Eventually(func() bool {
		as, err := agg.ApiregistrationV1().APIServices().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false
		}
		last = as.Status.Conditions
		for _, c := range as.Status.Conditions {
			if c.Type == apiregistrationv1.Available && c.Status == status && (reason == "" || c.Reason == reason) {
				return true
			}
		}
		return false
	}).WithTimeout(30*time.Second).WithPolling(200*time.Millisecond).Should(gomega.BeTrue(),
		"APIService %s never reported Available %s (reason %q); last conditions: %+v", name, status, reason, &last)
}

func specAggregationConfigMap(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	cm, err := e.client.CoreV1().ConfigMaps(metav1.NamespaceSystem).Get(ctx, "extension-apiserver-authentication", metav1.GetOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	for _, key := range []string{"client-ca-file", "requestheader-client-ca-file"} {
		block, _ := pem.Decode([]byte(cm.Data[key]))
		g.Expect(block).NotTo(gomega.BeNil(), "%s holds no PEM certificate", key)
		_, err := x509.ParseCertificate(block.Bytes)
		g.Expect(err).NotTo(gomega.HaveOccurred(), "%s", key)
	}
	for key, want := range map[string]string{
		"requestheader-username-headers":     "X-Remote-User",
		"requestheader-group-headers":        "X-Remote-Group",
		"requestheader-extra-headers-prefix": "X-Remote-Extra-",
	} {
		var got []string
		g.Expect(json.Unmarshal([]byte(cm.Data[key]), &got)).To(gomega.Succeed(), "%s is not a JSON list: %q", key, cm.Data[key])
		g.Expect(got).To(gomega.ContainElement(want), "%s", key)
	}
}

func specAggregationIdentity(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	x, agg := startExtensionServer(ctx, g, e)
	availableCondition(ctx, g, agg, "v1."+x.group, apiregistrationv1.ConditionTrue, "")
	review, err := e.client.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	body, err := e.client.CoreV1().RESTClient().Get().AbsPath("/apis", x.group, x.version, "namespaces", e.ns, "widgets").DoRaw(ctx)
	g.Expect(err).NotTo(gomega.HaveOccurred())
	g.Expect(string(body)).To(gomega.ContainSubstring(`"WidgetList"`), "the extension server's answer")
	h, _ := x.lastRequest()
	g.Expect(h).NotTo(gomega.BeNil(), "the extension server got no request")
	g.Expect(h.Get("X-Remote-User")).To(gomega.Equal(review.Status.UserInfo.Username))
	for _, group := range review.Status.UserInfo.Groups {
		g.Expect(h.Values("X-Remote-Group")).To(gomega.ContainElement(group))
	}
}

func specAggregationFrontProxyCert(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	x, agg := startExtensionServer(ctx, g, e)
	availableCondition(ctx, g, agg, "v1."+x.group, apiregistrationv1.ConditionTrue, "")
	_, err := e.client.CoreV1().RESTClient().Get().AbsPath("/apis", x.group, x.version, "namespaces", e.ns, "widgets").DoRaw(ctx)
	g.Expect(err).NotTo(gomega.HaveOccurred())
	_, cert := x.lastRequest()
	g.Expect(cert).NotTo(gomega.BeNil(), "the proxied request presented no client certificate")
	cm, err := e.client.CoreV1().ConfigMaps(metav1.NamespaceSystem).Get(ctx, "extension-apiserver-authentication", metav1.GetOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	pool := x509.NewCertPool()
	g.Expect(pool.AppendCertsFromPEM([]byte(cm.Data["requestheader-client-ca-file"]))).To(gomega.BeTrue())
	_, err = cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	g.Expect(err).NotTo(gomega.HaveOccurred(), "the client certificate does not verify against requestheader-client-ca-file")
	var names []string
	g.Expect(json.Unmarshal([]byte(cm.Data["requestheader-allowed-names"]), &names)).To(gomega.Succeed())
	if len(names) > 0 { // an empty list allows any name the CA signed
		g.Expect(names).To(gomega.ContainElement(cert.Subject.CommonName))
	}
}

func specAggregationDiscovery(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	x, agg := startExtensionServer(ctx, g, e)
	availableCondition(ctx, g, agg, "v1."+x.group, apiregistrationv1.ConditionTrue, "")
	gv := x.group + "/" + x.version
	g.Eventually(func() []string {
		var list metav1.APIGroupList
		body, err := e.client.CoreV1().RESTClient().Get().AbsPath("/apis").SetHeader("Accept", "application/json").DoRaw(ctx)
		if err != nil || json.Unmarshal(body, &list) != nil {
			return nil
		}
		var gvs []string
		for _, grp := range list.Groups {
			for _, v := range grp.Versions {
				gvs = append(gvs, v.GroupVersion)
			}
		}
		return gvs
	}).WithTimeout(30*time.Second).WithPolling(500*time.Millisecond).Should(gomega.ContainElement(gv), "legacy /apis")
	g.Eventually(func() []string {
		var list apidiscoveryv2.APIGroupDiscoveryList
		body, err := e.client.CoreV1().RESTClient().Get().AbsPath("/apis").
			SetHeader("Accept", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList").DoRaw(ctx)
		if err != nil || json.Unmarshal(body, &list) != nil {
			return nil
		}
		var resources []string
		for _, grp := range list.Items {
			for _, v := range grp.Versions {
				for _, r := range v.Resources {
					resources = append(resources, grp.Name+"/"+v.Version+"/"+r.Resource)
				}
			}
		}
		return resources
	}).WithTimeout(60*time.Second).WithPolling(time.Second).Should(gomega.ContainElement(gv+"/widgets"), "aggregated discovery of /apis")
}

func specAggregationServiceNotFound(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	group := aggregationGroup(e)
	agg := createAPIService(ctx, g, e, group, "absent", 443, nil)
	availableCondition(ctx, g, agg, "v1."+group, apiregistrationv1.ConditionFalse, "ServiceNotFound")
}

// notReadyService makes a selector-less Service svc whose one EndpointSlice holds a single
// endpoint that is not ready.
func notReadyService(ctx context.Context, g gomega.Gomega, e *apiEnv, svc string) {
	_, err := e.client.CoreV1().Services(e.ns).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: svc},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 443, Protocol: corev1.ProtocolTCP}}}}, metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	_, err = e.client.DiscoveryV1().EndpointSlices(e.ns).Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: svc + "-1", Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To(""), Port: ptr.To[int32](443), Protocol: ptr.To(corev1.ProtocolTCP)}},
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"192.0.2.10"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false)}}},
	}, metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
}

func specAggregationMissingEndpoints(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	notReadyService(ctx, g, e, "not-ready")
	group := aggregationGroup(e)
	agg := createAPIService(ctx, g, e, group, "not-ready", 443, nil)
	availableCondition(ctx, g, agg, "v1."+group, apiregistrationv1.ConditionFalse, "MissingEndpoints")
}

func specAggregationUnavailable(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	notReadyService(ctx, g, e, "not-ready")
	group := aggregationGroup(e)
	agg := createAPIService(ctx, g, e, group, "not-ready", 443, nil)
	availableCondition(ctx, g, agg, "v1."+group, apiregistrationv1.ConditionFalse, "")
	var last error
	g.Eventually(func() int32 {
		_, err := e.client.CoreV1().RESTClient().Get().AbsPath("/apis", group, "v1", "namespaces", e.ns, "widgets").DoRaw(ctx)
		last = err
		if st, ok := err.(apierrors.APIStatus); ok {
			return st.Status().Code
		}
		return 0
	}).WithTimeout(30*time.Second).WithPolling(500*time.Millisecond).Should(gomega.Equal(int32(http.StatusServiceUnavailable)), "last error: %v", &last)
}

// serviceCertificate is a self-signed serving certificate for dnsName, and its PEM as a CA
// bundle.
func serviceCertificate(dnsName string) (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: dnsName},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
		DNSNames: []string{dnsName},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}
