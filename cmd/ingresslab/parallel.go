package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ingresslab/ingresslab/reports"
)

// runShards runs `ingresslab conformance` n times at once, each child with
// its own cluster and controller and one shard of the specs, and merges
// their reports into reportDir.
func runShards(ctx context.Context, out io.Writer, n int, reportDir string) (*reports.ConformanceReport, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	base := childArgs(os.Args[1:])
	began := time.Now()
	fmt.Fprintf(out, "Running the specs in %d shards, each with its own cluster and controller...\n", n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, n)
	dirs := make([]string, n)
	for i := range n {
		dirs[i] = filepath.Join(reportDir, "shards", fmt.Sprint(i+1))
		args := append(append([]string{}, base...), "--shard", fmt.Sprintf("%d/%d", i+1, n), "--report-dir", dirs[i])
		cmd := exec.CommandContext(ctx, exe, args...)
		cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
		cmd.WaitDelay = time.Minute
		pipe, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		cmd.Stderr = cmd.Stdout
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start shard %d: %w", i+1, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := bufio.NewScanner(pipe)
			s.Buffer(make([]byte, 64<<10), 1<<20)
			for s.Scan() {
				mu.Lock()
				fmt.Fprintf(out, "[shard %d] %s\n", i+1, s.Text())
				mu.Unlock()
			}
			if err := cmd.Wait(); err != nil {
				var exit *exec.ExitError
				// Exit status 1 means failed core tests: a result, read from its report.
				if !errors.As(err, &exit) || exit.ExitCode() != 1 {
					errs[i] = fmt.Errorf("shard %d: %w", i+1, err)
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	merged, err := mergeReports(dirs)
	if err != nil {
		return nil, err
	}
	merged.DurationSeconds = time.Since(began).Seconds()
	merged.Command = "ingresslab " + strings.Join(os.Args[1:], " ")
	if merged.Machine == nil {
		merged.Machine = map[string]string{}
	}
	merged.Machine["shards"] = fmt.Sprint(n)
	if err := reports.WriteConformance(reportDir, merged); err != nil {
		return nil, err
	}
	return merged, nil
}

// childArgs drops the flags the parent sets for each shard.
func childArgs(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, _, hasValue := strings.Cut(a, "=")
		switch name {
		case "--parallel", "--report-dir", "--shard":
			if !hasValue {
				i++ // the value is the next argument
			}
			continue
		}
		out = append(out, a)
	}
	return out
}

// mergeReports combines the shards' reports into one.
func mergeReports(dirs []string) (*reports.ConformanceReport, error) {
	var merged *reports.ConformanceReport
	for _, d := range dirs {
		r, err := reports.ReadConformance(filepath.Join(d, reports.ConformanceJSONFile))
		if err != nil {
			return nil, err
		}
		if merged == nil {
			merged = r
			continue
		}
		if r.Date.Before(merged.Date) {
			merged.Date = r.Date
		}
		merged.Tests = append(merged.Tests, r.Tests...)
	}
	if merged == nil {
		return nil, errors.New("no shard reports")
	}
	merged.Finalize()
	return merged, nil
}
