package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/config"
	"github.com/hf-oidc/hf-oidc/internal/resource"
	"github.com/hf-oidc/hf-oidc/internal/sandbox"
	"github.com/hf-oidc/hf-oidc/internal/transport"
	"github.com/hf-oidc/hf-oidc/plugins/safetext"
)

const sandboxAbout = `Runs the embedded sandbox (a real OIDC issuer with RS256 keys, discovery and
JWKS, a GitHub-style ID-token endpoint, and the Hub's exchange and whoami
endpoints) in the foreground until interrupted, and prints the variables that
point hf-oidc at it. For manual testing; nothing leaves the machine.`

func runSandbox(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "sandbox", "[flags]", sandboxAbout)
	addr := fs.String("addr", "127.0.0.1:0", "listen `address` (loopback only)")
	lifetime := fs.Duration("token-lifetime", time.Hour, "lifetime of the Hub tokens it issues")
	useTLS := fs.Bool("tls", false, "serve https (HTTP/2) with a certificate made now, written to a file that SSL_CERT_FILE names")
	var trust listValue
	fs.Var(&trust, "trust", "resource `R` whose publisher trusts the sandbox's GitHub claims (repeatable; default: "+strings.Join(demoResources, ", ")+")")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *lifetime <= 0 {
		return config.Usagef("--token-lifetime %s: expected a positive duration", *lifetime)
	}
	if len(trust) == 0 {
		trust = demoResources
	}
	rs, err := resource.ParseList(trust)
	if err != nil {
		return &config.UsageError{Err: fmt.Errorf("--trust: %w", err)}
	}
	sb, err := sandbox.Start(sandbox.Config{Addr: *addr, TokenLifetime: *lifetime, TLS: *useTLS})
	if err != nil {
		return fmt.Errorf("starting the sandbox: %w", err)
	}
	defer sb.Close()
	vars := sb.GitHubEnv()
	if pem := sb.CertPEM(); pem != nil {
		dir, err := os.MkdirTemp("", "hf-oidc-sandbox-")
		if err != nil {
			return fmt.Errorf("writing the sandbox's certificate: %w", err)
		}
		defer os.RemoveAll(dir)
		ca := filepath.Join(dir, "ca.pem")
		if err := os.WriteFile(ca, pem, 0o644); err != nil {
			return fmt.Errorf("writing the sandbox's certificate: %w", err)
		}
		vars = append(vars, transport.CAFileVar+"="+ca)
	}
	names := make([]string, len(rs))
	for i, r := range rs {
		sb.TrustGitHub(r.Name)
		names[i] = r.Name
	}

	w := env.Stdout
	fmt.Fprintf(w, "# hf-oidc sandbox on %s (Ctrl-C to stop)\n", sb.URL())
	for _, line := range strings.Split(strings.TrimSpace(sb.Describe()), "\n") {
		fmt.Fprintf(w, "# %s\n", line)
	}
	fmt.Fprintf(w, "# trusted for the sandbox's GitHub claims: %s\n", strings.Join(names, ", "))
	fmt.Fprintf(w, "# In another shell (these are the sandbox's own throwaway credentials):\n")
	for _, kv := range vars {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(w, "export %s=%s\n", k, safetext.ShellQuote(v))
	}
	fmt.Fprintf(w, "# then: hf-oidc exchange --resource %s --format json\n", names[0])
	<-ctx.Done()
	return nil
}
