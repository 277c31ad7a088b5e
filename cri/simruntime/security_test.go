package simruntime

import (
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/clusterkit/clusterkit/cri/testimage/behavior"
)

func TestProcessOfRefusesWhatContainerdRefuses(t *testing.T) {
	s := &sandbox{nsOptions: &runtimeapi.NamespaceOption{}}
	if _, err := processOf(s, &runtimeapi.LinuxContainerSecurityContext{Privileged: true}, nil); err == nil || !strings.Contains(err.Error(), "no privileged container allowed in sandbox") {
		t.Errorf("a privileged container in a non-privileged sandbox: %v", err)
	}
	missing := &runtimeapi.LinuxContainerSecurityContext{Seccomp: &runtimeapi.SecurityProfile{
		ProfileType: runtimeapi.SecurityProfile_Localhost, LocalhostRef: "/nonexistent/profile.json"}}
	if _, err := processOf(s, missing, nil); err == nil || !strings.Contains(err.Error(), "cannot load seccomp profile") {
		t.Errorf("a missing Localhost seccomp profile: %v", err)
	}
	if _, err := processOf(s, &runtimeapi.LinuxContainerSecurityContext{RunAsUsername: "app"}, nil); err == nil {
		t.Error("a user name the image does not know: accepted")
	}
}

func TestProcessOfModelsContainerd(t *testing.T) {
	s := &sandbox{nsOptions: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_CONTAINER}, privileged: true}
	p, err := processOf(s, &runtimeapi.LinuxContainerSecurityContext{
		Capabilities:     &runtimeapi.Capability{AddCapabilities: []string{"NET_ADMIN"}, DropCapabilities: []string{"ALL"}},
		Seccomp:          &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault},
		NamespaceOptions: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_POD},
	}, []string{"/ckimage"})
	if err != nil {
		t.Fatal(err)
	}
	if p.CapEff != behavior.CapabilityMask("NET_ADMIN") || p.Seccomp != 2 || p.PID1 != behavior.PauseBinary {
		t.Errorf("%+v", p)
	}
	p, _ = processOf(s, &runtimeapi.LinuxContainerSecurityContext{Privileged: true, RunAsUser: &runtimeapi.Int64Value{Value: 1000},
		Seccomp: &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault}}, []string{"/ckimage"})
	if p.CapEff != 0 || p.CapBnd&(1<<21) == 0 || p.Seccomp != 0 || p.PID1 != "/ckimage" {
		t.Errorf("privileged uid 1000: %+v (no effective capabilities, a full bounding set, no seccomp)", p)
	}
}
