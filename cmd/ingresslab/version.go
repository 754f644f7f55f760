package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ingresslab/ingresslab/cluster/local"
	"github.com/ingresslab/ingresslab/version"
)

func newVersionCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of ingresslab and of the local control plane binaries",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := version.Get()
			tools := toolVersions(cmd.Context())
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					version.Info
					Tools map[string]string `json:"tools"`
				}{info, tools})
			}
			fmt.Fprintln(cmd.OutOrStdout(), "ingresslab", info)
			for _, name := range []string{"kube-apiserver", "etcd", "kube-controller-manager"} {
				fmt.Fprintf(cmd.OutOrStdout(), "%-24s %s\n", name, tools[name])
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// toolVersions reports the control-plane binaries the local provider would use.
func toolVersions(ctx context.Context) map[string]string {
	out := map[string]string{}
	bins, err := local.FindBinaries(ctx, local.Binaries{})
	for name, path := range map[string]string{"kube-apiserver": bins.APIServer, "etcd": bins.Etcd, "kube-controller-manager": bins.ControllerManager} {
		if path == "" {
			out[name] = "not found (run `make tools`)"
			if err != nil {
				out[name] = "unavailable: " + strings.SplitN(err.Error(), "\n", 2)[0]
			}
			continue
		}
		v, verr := exec.CommandContext(ctx, path, "--version").Output()
		line := strings.SplitN(strings.TrimSpace(string(v)), "\n", 2)[0]
		if verr != nil {
			line = "error: " + verr.Error()
		}
		out[name] = line + " (" + path + ")"
	}
	return out
}
