package behavior

import (
	"context"
	"testing"
)

func TestCgroupCommand(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  string
		code  int
	}{
		{"v2", map[string]string{CgroupV2CPUMax: "30000 100000\n", CgroupV2MemoryMax: "134217728\n"}, "cpu.max 30000 100000\nmemory.max 134217728\n", 0},
		{"v2 unlimited", map[string]string{CgroupV2CPUMax: "max 100000\n", CgroupV2MemoryMax: "max\n"}, "cpu.max max 100000\nmemory.max max\n", 0},
		{"v1", map[string]string{CgroupV1CPUQuota: "20000\n", CgroupV1CPUPeriod: "100000\n", CgroupV1MemoryLimit: "67108864\n"}, "cpu.max 20000 100000\nmemory.max 67108864\n", 0},
		{"v1 unlimited", map[string]string{CgroupV1CPUQuota: "-1\n", CgroupV1CPUPeriod: "100000\n", CgroupV1MemoryLimit: "9223372036854771712\n"}, "cpu.max max 100000\nmemory.max max\n", 0},
		{"none", map[string]string{}, "", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Exec(context.Background(), []string{TestBinary, "cgroup"}, ExecEnv{TestImage: true, Files: tc.files})
			if err != nil {
				t.Fatal(err)
			}
			if res.Stdout != tc.want || res.ExitCode != tc.code {
				t.Errorf("cgroup: stdout %q exit %d, want %q exit %d (stderr %q)", res.Stdout, res.ExitCode, tc.want, tc.code, res.Stderr)
			}
		})
	}
}
