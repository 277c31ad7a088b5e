package simruntime

import (
	"context"
	"errors"
	"strconv"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/clusterkit/clusterkit/cri/testimage/behavior"
)

// execTarget resolves a running container and what its exec commands see.
func (r *Runtime) execTarget(id string) (behavior.ExecEnv, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.lookupContainerLocked(id)
	if !ok {
		return behavior.ExecEnv{}, notFound("container", id)
	}
	if c.state != runtimeapi.ContainerState_CONTAINER_RUNNING {
		return behavior.ExecEnv{}, status.Errorf(codes.FailedPrecondition, "container %q is not running", c.id)
	}
	s := r.sandboxes[c.sandboxID]
	proc := c.proc
	files := s.files()
	cgroupFiles(c.resources, files)
	env := behavior.ExecEnv{Hostname: s.hostname, HTTPHost: s.podIP(), TestImage: c.testImage, Files: files, Process: &proc,
		ReadFile: func(p string) ([]byte, error) { return c.readFile(p, files) }, Environ: c.env,
		WriteFile: c.writeFile, Stat: func(p string) (behavior.FileStat, error) { return c.stat(p, files) }, StatFS: c.statfs, Remove: c.remove}
	if s.net != nil {
		env.Dial = s.net.Dial // connections start in the sandbox's namespace
	}
	return env, nil
}

// runExec acts out an exec command in a running container.
func (r *Runtime) runExec(ctx context.Context, id string, cmd []string) (behavior.ExecResult, error) {
	env, err := r.execTarget(id)
	if err != nil {
		return behavior.ExecResult{}, err
	}
	res, err := behavior.Exec(ctx, cmd, env)
	switch {
	case errors.Is(err, behavior.ErrNotFound):
		return res, status.Errorf(codes.Unknown, "failed to exec in container: OCI runtime exec failed: exec failed: unable to start container process: %v", err)
	case errors.Is(err, context.DeadlineExceeded):
		return res, status.Errorf(codes.DeadlineExceeded, "command %q timed out", cmd)
	case err != nil:
		return res, status.FromContextError(err).Err()
	}
	return res, nil
}

// ExecSync implements RuntimeService: the command is answered from the
// container's behaviour model (package behavior); exec probes use it.
func (r *Runtime) ExecSync(ctx context.Context, req *runtimeapi.ExecSyncRequest) (*runtimeapi.ExecSyncResponse, error) {
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(req.Timeout)*time.Second)
		defer cancel()
	}
	res, err := r.runExec(ctx, req.ContainerId, req.Cmd)
	if err != nil {
		return nil, err
	}
	return &runtimeapi.ExecSyncResponse{Stdout: []byte(res.Stdout), Stderr: []byte(res.Stderr), ExitCode: int32(res.ExitCode)}, nil
}

// cgroupFiles adds the cgroup v1 files of a container's CPU quota and period and memory limit
// to files, from the resources it was created with or last updated to (UpdateContainerResources):
// what `ckimage cgroup` reads in a real container.
func cgroupFiles(res *runtimeapi.LinuxContainerResources, files map[string]string) {
	quota, period, mem := int64(-1), int64(100000), int64(9223372036854771712) // v1's "no limit"
	if res.GetCpuQuota() > 0 {
		quota = res.GetCpuQuota()
	}
	if res.GetCpuPeriod() > 0 {
		period = res.GetCpuPeriod()
	}
	if res.GetMemoryLimitInBytes() > 0 {
		mem = res.GetMemoryLimitInBytes()
	}
	files[behavior.CgroupV1CPUQuota] = strconv.FormatInt(quota, 10) + "\n"
	files[behavior.CgroupV1CPUPeriod] = strconv.FormatInt(period, 10) + "\n"
	files[behavior.CgroupV1MemoryLimit] = strconv.FormatInt(mem, 10) + "\n"
}
