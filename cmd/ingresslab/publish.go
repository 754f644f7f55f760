package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ingresslab/ingresslab/bench"
	"github.com/ingresslab/ingresslab/reports"
)

// newReportPublishCommand is `ingresslab report publish`.
func newReportPublishCommand() *cobra.Command {
	var o reports.PublishOptions
	cmd := &cobra.Command{
		Use:   "publish --conformance DIR [--bench DIR]",
		Short: "Copy a controller's reports into the published tree with a machine fingerprint",
		Long: `Copy conformance.json/.md (and bench.json/.md/.html) of one controller into
ROOT/<name>/<version>/ and write machine.json (this machine's CPU, cores, memory, kernel, OS,
Go and Kubernetes versions, provider and backend network), which 'report matrix' reads.`,
		Example: `  ingresslab report publish --conformance out/traefik --bench out/traefik-bench --note "2 shared cores"
  ingresslab report publish --merge --conformance reports/published/traefik/v3.7.13 --bench out/traefik-bench  # the bench only
  ingresslab report matrix reports/published --markdown reports/published/matrix.md --html reports/published/matrix.html`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.ConformanceDir == "" {
				return fmt.Errorf("--conformance DIR is required (the --report-dir of an ingresslab conformance run)")
			}
			o.Host = bench.Fingerprint()
			dir, err := reports.Publish(o)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Published to %s\n", dir)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.ConformanceDir, "conformance", "", "folder with conformance.json and conformance.md")
	fl.StringVar(&o.BenchDir, "bench", "", "folder with bench.json (and bench.md, bench.html) of the same controller")
	fl.StringVar(&o.Root, "root", "reports/published", "published tree")
	fl.StringVar(&o.Note, "note", "", "a note for machine.json (e.g. what else ran on the machine)")
	fl.StringVar(&o.Build, "build", "", "how the controller was built or installed (machine.json controllerBuild)")
	fl.BoolVar(&o.Merge, "merge", false, "add this run's tests to the report already published for the controller and version (same-named tests replaced, but a skip keeps a published result; the rest and the bench kept), e.g. for a --label-filter reliability run; with --conformance naming the published folder itself, only --bench is added and the conformance files stay as they are")
	return cmd
}
