// Command hf-oidc exchanges a CI job's OIDC ID token for short-lived Hugging
// Face Hub tokens. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/hf-oidc/hf-oidc/internal/cli"
	_ "github.com/hf-oidc/hf-oidc/plugins/all"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, cli.OSEnv(), os.Args[1:])
	stop()
	os.Exit(code)
}
