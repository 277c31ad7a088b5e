package kubelet

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// DefaultEvictionHardMemory is the kubelet's default hard eviction threshold memory.available.
const DefaultEvictionHardMemory = "100Mi"

// nodeIdentity is what the Node reports in nodeInfo about the machine it runs on.
type nodeIdentity struct {
	machineID, systemUUID, bootID string
}

// identity returns the node's machine ID, system UUID and boot ID: Config's, else derived from
// the host's (hostMachineID, hostBootID), NodeName and RootDir. Several nodes on one host get
// distinct ones; a restarted kubelet of the same node gets the same ones, and a new boot ID
// once the host reboots.
func (k *Kubelet) identity(hostMachineID, hostBootID string) nodeIdentity {
	id := nodeIdentity{machineID: k.cfg.MachineID, systemUUID: k.cfg.SystemUUID, bootID: k.cfg.BootID}
	sum := func(parts ...string) []byte {
		h := sha256.New()
		for _, p := range parts {
			fmt.Fprintf(h, "%d:%s;", len(p), p)
		}
		return h.Sum(nil)
	}
	if id.machineID == "" {
		id.machineID = hex.EncodeToString(sum("machine-id", hostMachineID, k.cfg.NodeName, k.cfg.RootDir)[:16])
	}
	if id.systemUUID == "" {
		id.systemUUID = uuidOf(sum("system-uuid", hostMachineID, k.cfg.NodeName, k.cfg.RootDir))
	}
	if id.bootID == "" {
		id.bootID = uuidOf(sum("boot-id", hostBootID, k.cfg.NodeName, k.cfg.RootDir))
	}
	return id
}

// uuidOf formats the first 16 bytes of b as an RFC 4122 version 4 (random) UUID.
func uuidOf(b []byte) string {
	u := append([]byte(nil), b[:16]...)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// allocatableOf is capacity minus Reserved, KubeReserved and SystemReserved and, for memory,
// the hard eviction threshold (never below zero), as the kubelet computes Node Allocatable
// (kubernetes.io/docs/tasks/administer-cluster/reserve-compute-resources).
func (c Config) allocatableOf(capacity corev1.ResourceList) corev1.ResourceList {
	a := corev1.ResourceList{}
	for n, q := range capacity {
		q = q.DeepCopy()
		for _, list := range []corev1.ResourceList{c.Reserved, c.KubeReserved, c.SystemReserved} {
			if r, ok := list[n]; ok {
				q.Sub(r)
			}
		}
		if n == corev1.ResourceMemory && c.EvictionHardMemory.Sign() > 0 {
			q.Sub(c.EvictionHardMemory)
		}
		if q.Sign() < 0 {
			q = *resource.NewQuantity(0, q.Format)
		}
		a[n] = q
	}
	return a
}
