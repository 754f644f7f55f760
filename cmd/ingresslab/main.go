// Command ingresslab is the harness CLI: it brings up clusters, runs the
// conformance suites and benchmarks against an Ingress controller, and
// renders and compares reports.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:]))
}

// run executes the CLI and returns the exit status. Errors are printed as one
// line (never a stack trace).
func run(ctx context.Context, args []string) int {
	root := newRootCommand()
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		var exit exitError
		if errors.As(err, &exit) {
			if exit.msg != "" {
				fmt.Fprintln(os.Stderr, "error:", exit.msg)
			}
			return exit.code
		}
		fmt.Fprintln(os.Stderr, "error:", err)
		return 1
	}
	return 0
}

// exitError carries a specific exit status.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "ingresslab",
		Short:         "Ingress conformance and load-testing harness",
		Long:          "ingresslab checks how an Ingress controller behaves against the networking.k8s.io/v1 Ingress spec and measures it under load.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newClusterCommand(), newConformanceCommand(), newBenchCommand(), newReportCommand(), newScanCommand(), newKindCommand(), newVersionCommand(), newBenchAgentCommand())
	return root
}
