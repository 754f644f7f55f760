package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/ingresslab/ingresslab/bench/agent"
	"github.com/ingresslab/ingresslab/bench/generators"
)

// newBenchAgentCommand is `ingresslab bench-agent`: one load generator of
// `bench --generators N`, run by the generator Job's Pods. Its config and
// index come from the environment the Job sets.
func newBenchAgentCommand() *cobra.Command {
	var configFile string
	index := -1
	cmd := &cobra.Command{
		Use:    "bench-agent",
		Short:  "Run one load generator of a distributed bench (started by bench --generators N in a Job Pod)",
		Hidden: true,
		Long: `Run the windows of an agent config (JSON, from $` + generators.ConfigEnv + ` or --config) with this
generator's share of the load, starting at the config's agreed wall-clock instant, and write one
result line per window (counts and HDR histograms) to stdout. The index comes from --index or
$` + generators.IndexEnv + ` (the Indexed Job's completion index).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			raw := []byte(os.Getenv(generators.ConfigEnv))
			if configFile != "" {
				b, err := os.ReadFile(configFile)
				if err != nil {
					return err
				}
				raw = b
			}
			if len(raw) == 0 {
				return fmt.Errorf("bench-agent: no config: set $%s or --config", generators.ConfigEnv)
			}
			c, err := agent.ParseConfig(raw)
			if err != nil {
				return err
			}
			if index < 0 {
				v := os.Getenv(generators.IndexEnv)
				if index, err = strconv.Atoi(v); err != nil {
					return fmt.Errorf("bench-agent: no index: set --index or $%s (got %q)", generators.IndexEnv, v)
				}
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "bench-agent: generator %d of %d, %d windows from %s to %s\n", index, c.Generators, len(c.Windows), c.Start.Format("15:04:05.000"), c.Dial)
			return agent.Run(cmd.Context(), c, agent.Options{Index: index, Pod: os.Getenv(generators.PodEnv), Node: os.Getenv(generators.NodeEnv), Out: cmd.OutOrStdout()})
		},
	}
	cmd.Flags().StringVar(&configFile, "config", "", "agent config file (default: $"+generators.ConfigEnv+")")
	cmd.Flags().IntVar(&index, "index", -1, "this generator's index (default: $"+generators.IndexEnv+")")
	return cmd
}
