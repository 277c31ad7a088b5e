package behavior

import (
	"context"
	"strings"
	"testing"
)

func TestSecurityCommandsParse(t *testing.T) {
	for _, argv := range [][]string{{"ckimage", "proc-status"}, {"ckimage", "pid1"}, {"ckimage", "touch", "/x"}} {
		b, err := Parse(argv)
		if err != nil || b.RunsAsMain() {
			t.Errorf("%q: %+v, %v (an exec command)", argv, b, err)
		}
	}
	for _, argv := range [][]string{{"ckimage", "touch"}, {"ckimage", "touch", "relative"}, {"ckimage", "pid1", "extra"}} {
		if _, err := Parse(argv); !IsUsage(err) {
			t.Errorf("%q: want a usage error, got %v", argv, err)
		}
	}
}

func TestSimulatedProcessCommands(t *testing.T) {
	p := &Process{UID: 1000, GID: 3000, Groups: []uint32{2000, 3000}, CapBnd: CapabilityMask("CHOWN", "CAP_KILL"), NoNewPrivs: true, Seccomp: 2, PID1: "/pause", ReadOnlyRoot: true}
	run := func(argv ...string) ExecResult {
		res, err := Exec(context.Background(), append([]string{"/ckimage"}, argv...), ExecEnv{TestImage: true, Process: p})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	st := ParseProcStatus(run("proc-status").Stdout)
	want := map[string]string{"Uid": "1000\t1000\t1000\t1000", "Gid": "3000\t3000\t3000\t3000", "Groups": "2000 3000",
		"CapEff": "0000000000000000", "CapBnd": "0000000000000021", "NoNewPrivs": "1", "Seccomp": "2"}
	for k, v := range want {
		if st[k] != v {
			t.Errorf("%s = %q, want %q", k, st[k], v)
		}
	}
	if out := run("pid1").Stdout; out != "/pause\n" {
		t.Errorf("pid1 %q", out)
	}
	if res := run("touch", "/tmp/x"); res.ExitCode != 1 || !strings.Contains(res.Stderr, "read-only file system") {
		t.Errorf("touch on a read-only root: %+v", res)
	}
	p.ReadOnlyRoot = false
	if res := run("touch", "/x"); res.ExitCode != 1 || !strings.Contains(res.Stderr, "permission denied") {
		t.Errorf("touch / as uid 1000: %+v", res)
	}
	if res := run("touch", "/tmp/x"); res.ExitCode != 0 {
		t.Errorf("touch /tmp as uid 1000: %+v", res)
	}
}
