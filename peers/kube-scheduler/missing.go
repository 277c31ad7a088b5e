package kubescheduler

import (
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
)

// kube-scheduler starts informers for kinds clusterkit's API server does not
// serve (volumes, storage, DRA, StatefulSets, ReplicationControllers)
// and waits for all of them to sync before it schedules anything. Missing
// answers every list of those kinds with an empty list and every watch with
// a stream that stays open (after the initial-events-end bookmark when
// asked), and passes every other request to next. It is a test-side shim
// for the gap, not part of clusterkit's API server.
func Missing(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gv, kind, ok := missingKind(r.URL.Path)
		if !ok || r.Method != http.MethodGet {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		q := r.URL.Query()
		if q.Get("watch") == "true" || q.Get("watch") == "1" {
			w.WriteHeader(http.StatusOK)
			if q.Get("sendInitialEvents") == "true" {
				fmt.Fprintf(w, `{"type":"BOOKMARK","object":{"kind":%q,"apiVersion":%q,"metadata":{"resourceVersion":"1","annotations":{"k8s.io/initial-events-end":"true"}}}}`+"\n", kind, gv)
			}
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
			<-r.Context().Done()
			return
		}
		fmt.Fprintf(w, `{"kind":%q,"apiVersion":%q,"metadata":{"resourceVersion":"1"},"items":[]}`, kind+"List", gv)
	})
}

// missingKinds maps the collection paths kube-scheduler lists (cluster-wide)
// to their group/version and kind.
var missingKinds = map[string][2]string{ //nolint:gochecknoglobals // constant table
	"/api/v1/persistentvolumes":                            {"v1", "PersistentVolume"},
	"/api/v1/persistentvolumeclaims":                       {"v1", "PersistentVolumeClaim"},
	"/api/v1/replicationcontrollers":                       {"v1", "ReplicationController"},
	"/apis/apps/v1/statefulsets":                           {"apps/v1", "StatefulSet"},
	"/apis/storage.k8s.io/v1/storageclasses":               {"storage.k8s.io/v1", "StorageClass"},
	"/apis/storage.k8s.io/v1/csinodes":                     {"storage.k8s.io/v1", "CSINode"},
	"/apis/storage.k8s.io/v1/csidrivers":                   {"storage.k8s.io/v1", "CSIDriver"},
	"/apis/storage.k8s.io/v1/csistoragecapacities":         {"storage.k8s.io/v1", "CSIStorageCapacity"},
	"/apis/storage.k8s.io/v1/volumeattachments":            {"storage.k8s.io/v1", "VolumeAttachment"},
	"/apis/storage.k8s.io/v1/volumeattributesclasses":      {"storage.k8s.io/v1", "VolumeAttributesClass"},
	"/apis/resource.k8s.io/v1/resourceclaims":              {"resource.k8s.io/v1", "ResourceClaim"},
	"/apis/resource.k8s.io/v1/resourceslices":              {"resource.k8s.io/v1", "ResourceSlice"},
	"/apis/resource.k8s.io/v1/deviceclasses":               {"resource.k8s.io/v1", "DeviceClass"},
	"/apis/resource.k8s.io/v1/devicetaintrules":            {"resource.k8s.io/v1", "DeviceTaintRule"},
	"/apis/resource.k8s.io/v1alpha3/devicetaintrules":      {"resource.k8s.io/v1alpha3", "DeviceTaintRule"},
	"/apis/resource.k8s.io/v1beta2/devicetaintrules":       {"resource.k8s.io/v1beta2", "DeviceTaintRule"},
	"/apis/scheduling.k8s.io/v1alpha1/workloads":           {"scheduling.k8s.io/v1alpha1", "Workload"},
	"/apis/scheduling.k8s.io/v1alpha2/workloads":           {"scheduling.k8s.io/v1alpha2", "Workload"},
	"/apis/scheduling.k8s.io/v1alpha2/podgroups":           {"scheduling.k8s.io/v1alpha2", "PodGroup"},
	"/apis/scheduling.k8s.io/v1alpha1/podgroups":           {"scheduling.k8s.io/v1alpha1", "PodGroup"},
	"/apis/storage.k8s.io/v1beta1/volumeattributesclasses": {"storage.k8s.io/v1beta1", "VolumeAttributesClass"},
}

func missingKind(path string) (gv, kind string, ok bool) {
	k, ok := missingKinds[strings.TrimSuffix(path, "/")]
	return k[0], k[1], ok
}

// Proxy is Missing in front of a reverse proxy to a running API server
// (for example `clusterkit up`): point kube-scheduler at a listener serving
// Proxy(target) to run it against that cluster.
func Proxy(target *url.URL) http.Handler {
	p := httputil.NewSingleHostReverseProxy(target)
	p.FlushInterval = -1 // stream watches
	return Missing(p)
}
