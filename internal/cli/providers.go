package cli

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/hf-oidc/hf-oidc/plugins"
)

func runProviders(_ context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "providers", "", "Lists the CI providers compiled in, in the order auto-detection tries them,\nwhether each is detected here, and whether it can mint a fresh ID token\nmid-job (long jobs need that, or an ID token that outlives them).")
	if err := fs.parse(args); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROVIDER\tDETECTED\tMINTS FRESH ID TOKENS")
	detected := ""
	for _, name := range plugins.Names() {
		p, err := plugins.New(name, plugins.WithGetenv(env.Getenv))
		if err != nil {
			return err
		}
		d := "no"
		if p.Detect() && detected == "" {
			d, detected = "yes", name
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", name, d, yesNo(p.CanMint()))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if detected == "" {
		fmt.Fprintln(env.Stdout, "\nNo provider detected here: pass --provider, or a pre-minted ID token in HF_OIDC_ID_TOKEN.")
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
