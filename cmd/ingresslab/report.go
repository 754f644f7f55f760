package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ingresslab/ingresslab/reports"
)

func newReportCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Render and compare reports",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "compare A.json B.json",
		Short: "Compare two conformance or two bench reports side by side (Markdown on stdout)",
		Long: `Compare two reports of the same kind. For conformance reports, tests whose result or
variant differs come first: this is how a team compares its current controller with a candidate.`,
		Example: "  ingresslab report compare out/nginx/conformance.json out/reference/conformance.json > diff.md",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			kinds := make([]string, 2)
			for i, path := range args {
				k, err := reports.ReadKind(path)
				if err != nil {
					return err
				}
				kinds[i] = k
			}
			if kinds[0] != kinds[1] {
				return fmt.Errorf("cannot compare a %s (%s) with a %s (%s)", kinds[0], args[0], kinds[1], args[1])
			}
			switch kinds[0] {
			case reports.KindConformance:
				a, err := reports.ReadConformance(args[0])
				if err != nil {
					return err
				}
				b, err := reports.ReadConformance(args[1])
				if err != nil {
					return err
				}
				return reports.CompareConformance(cmd.OutOrStdout(), a, b)
			case reports.KindBench:
				a, err := reports.ReadBench(args[0])
				if err != nil {
					return err
				}
				b, err := reports.ReadBench(args[1])
				if err != nil {
					return err
				}
				return reports.CompareBench(cmd.OutOrStdout(), a, b)
			default:
				return fmt.Errorf("comparing %s reports is not supported", kinds[0])
			}
		},
	})
	cmd.AddCommand(newReportMatrixCommand())
	cmd.AddCommand(newReportPublishCommand())
	cmd.AddCommand(newReportReadmeCommand())
	return cmd
}
