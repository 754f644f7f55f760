package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/ingresslab/ingresslab/reports"
)

// newReportMatrixCommand is `ingresslab report matrix DIR...`.
func newReportMatrixCommand() *cobra.Command {
	var markdownPath, htmlPath string
	cmd := &cobra.Command{
		Use:   "matrix DIR...",
		Short: "Compare several controllers: feature x controller with variants and performance",
		Long: `Read conformance.json (and bench.json, machine.json when present) from each DIR, or from
every folder under it that has one (e.g. reports/published), and render one comparison:
results per feature and per test for each controller, the variant each chose where the
Ingress API leaves behaviour open, and, from bench reports, throughput relative to direct,
p99, propagation p50/p99 and errors under churn. Markdown goes to stdout unless --markdown
names a file; --html writes a self-contained HTML page.`,
		Example: `  ingresslab report matrix reports/published --markdown matrix.md --html matrix.html
  ingresslab report matrix out/reference out/traefik`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := reports.LoadMatrix(args)
			if err != nil {
				return err
			}
			var md bytes.Buffer
			if err := reports.RenderMatrixMarkdown(&md, m); err != nil {
				return err
			}
			if markdownPath == "" || markdownPath == "-" {
				if _, err := cmd.OutOrStdout().Write(md.Bytes()); err != nil {
					return err
				}
			} else if err := os.WriteFile(markdownPath, md.Bytes(), 0o644); err != nil {
				return fmt.Errorf("--markdown: %w", err)
			}
			if htmlPath != "" {
				var h bytes.Buffer
				if err := reports.RenderMatrixHTML(&h, m); err != nil {
					return err
				}
				if err := os.WriteFile(htmlPath, h.Bytes(), 0o644); err != nil {
					return fmt.Errorf("--html: %w", err)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&markdownPath, "markdown", "", "write the Markdown here instead of stdout")
	cmd.Flags().StringVar(&htmlPath, "html", "", "also write a self-contained HTML page here")
	return cmd
}
