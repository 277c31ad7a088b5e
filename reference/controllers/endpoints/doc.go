// Package endpoints is the reference Endpoints controller (kube-controller-manager's
// "endpoint" controller): for every Service with a selector (not ExternalName) it keeps a v1
// Endpoints object of the same name listing the matching pods that have an IP of the
// Service's primary family and are neither terminal nor terminating (terminating pods stay
// when the Service publishes not-ready addresses). Ready pods go to addresses, the others to
// notReadyAddresses (all to addresses with publishNotReadyAddresses); each address carries the
// pod's node and a target reference, and its hostname when the pod's subdomain names the
// Service. Service ports resolve against each pod (named target ports per pod) and addresses
// are grouped into subsets by the port set they serve. At most 1000 addresses are kept (ready
// ones first) and the Endpoints are then annotated endpoints.kubernetes.io/over-capacity:
// truncated; endpoints.kubernetes.io/last-change-trigger-time records the change the update
// follows. Labels are the Service's, plus service.kubernetes.io/headless on headless
// Services. Services without a selector are left alone: their Endpoints are the user's. The
// Endpoints are deleted with their Service.
package endpoints
