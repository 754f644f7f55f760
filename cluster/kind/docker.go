package kind

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// ErrDockerUnavailable is wrapped by every error about a missing docker
// command or an unreachable Docker engine.
var ErrDockerUnavailable = errors.New("docker is not available")

// alternatives ends every Docker error: what to use instead.
const alternatives = "or run without Docker: --provider local (embedded API server), or --provider existing --kubeconfig FILE (a cluster you already have)"

// CheckDocker returns an error wrapping ErrDockerUnavailable unless the
// docker command is on PATH and its engine answers `docker info` within
// 20s. kind runs its nodes as Docker containers through that command.
func CheckDocker(ctx context.Context) error {
	bin, err := exec.LookPath("docker")
	if err != nil {
		return fmt.Errorf("kind provider: the docker command is not on PATH (%w): kind runs Kubernetes nodes as Docker containers; install Docker Engine (https://docs.docker.com/engine/install/) and start it, %s", ErrDockerUnavailable, alternatives)
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "info", "--format", "{{.ServerVersion}}").CombinedOutput()
	msg := strings.TrimSpace(string(out))
	if err == nil && msg != "" && !strings.Contains(msg, "Cannot connect") {
		return nil
	}
	if msg == "" && err != nil {
		msg = err.Error()
	}
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return fmt.Errorf("kind provider: the Docker engine is not reachable (%w; `%s info`: %s): start the Docker daemon (e.g. `sudo systemctl start docker`), check DOCKER_HOST and that your user may use the Docker socket, %s", ErrDockerUnavailable, bin, msg, alternatives)
}
