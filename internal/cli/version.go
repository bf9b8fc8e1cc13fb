package cli

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set at release build time with -ldflags "-X …/internal/cli.version=v1.2.3 -X …/internal/cli.commit=…".
var (
	version = "dev"
	commit  = ""
)

func buildCommit() string {
	if commit != "" {
		return commit
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}

func userAgent() string { return "hf-oidc/" + version }

func runVersion(_ context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "version", "", "Prints the version, the commit it was built from, and the Go version.")
	if err := fs.parse(args); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "hf-oidc %s (commit %s, %s %s/%s)\n", version, buildCommit(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
