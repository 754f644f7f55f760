package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/ingresslab/ingresslab/reports"
	"github.com/ingresslab/ingresslab/scan"
)

// newScanCommand is `ingresslab scan`: a migration-readiness report of the
// annotations used by a live cluster's Ingresses against a candidate
// controller profile.
func newScanCommand() *cobra.Command {
	var kubeconfig, kubeContext, candidate, format, namespace, class, output, resultsPath string
	cmd := &cobra.Command{
		Use:   "scan",
		Short: "Report which Ingress annotations in a cluster a candidate controller supports",
		Long: "scan reads every Ingress of a cluster (read-only), lists the annotations in use with counts and the Ingresses " +
			"that carry them, and says for a candidate controller profile which are supported, differ (variant) or are missing.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var results *reports.ConformanceReport
			if resultsPath != "" {
				r, err := reports.ReadConformance(resultsPath)
				if err != nil {
					return fmt.Errorf("--results: %w", err)
				}
				results = r
			}
			prof, err := scan.Candidate(candidate, results)
			if err != nil {
				return err
			}
			if format != scan.FormatMarkdown && format != scan.FormatJSON {
				return fmt.Errorf("--format %q: want md or json", format)
			}
			client, source, err := scan.NewClient(kubeconfig, kubeContext)
			if err != nil {
				return err
			}
			rep, err := scan.Scan(cmd.Context(), client, scan.Options{Profile: &prof, Namespace: namespace, IngressClass: class, Source: source})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if output != "" && output != "-" {
				f, err := os.Create(output)
				if err != nil {
					return fmt.Errorf("--output: %w", err)
				}
				defer f.Close()
				if err := rep.Write(f, format); err != nil {
					return err
				}
				return f.Close()
			}
			return rep.Write(out, format)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)")
	fl.StringVar(&kubeContext, "context", "", "kubeconfig context (default: its current context)")
	fl.StringVar(&candidate, "candidate", "reference", "candidate controller: reference (built in), or a controller profile name (traefik-nginx, haproxy-ingress, ...) or YAML file with an annotations section")
	fl.StringVar(&resultsPath, "results", "", "the candidate's conformance.json: annotation features whose specs failed there are reported as variant; when it was run with --compare-to, each key in use shows how the specs using it behaved against the golden recording, with both values")
	fl.StringVar(&format, "format", scan.FormatMarkdown, "output format: md or json")
	fl.StringVarP(&namespace, "namespace", "n", "", "only this namespace (default: all)")
	fl.StringVar(&class, "ingress-class", "", "only Ingresses of this class (default: all)")
	fl.StringVarP(&output, "output", "o", "", "write the report to this file (default: stdout)")
	return cmd
}
