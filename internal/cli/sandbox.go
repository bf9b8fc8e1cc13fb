package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/config"
	"github.com/hf-oidc/hf-oidc/internal/resource"
	"github.com/hf-oidc/hf-oidc/internal/sandbox"
	"github.com/hf-oidc/hf-oidc/internal/transport"
	"github.com/hf-oidc/hf-oidc/plugins/safetext"
)

const sandboxAbout = `Runs the embedded sandbox (a real OIDC issuer with RS256 keys, discovery and
JWKS, ID-token endpoints shaped like each CI's, and the Hub's exchange and
whoami endpoints) in the foreground until interrupted. It prints one line to
paste into another shell, which points hf-oidc at it with a pre-minted ID
token (the env provider: no CI is pretended), and the command to try next.
For manual testing; nothing leaves the machine.`

// The ID token the sandbox command keeps in a file for the env provider:
// long enough for a long refresh, re-minted well before it expires.
const (
	sandboxIDTokenLifetime = time.Hour
	sandboxIDTokenRenew    = 20 * time.Minute
)

func runSandbox(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "sandbox", "[flags]", sandboxAbout)
	addr := fs.String("addr", "127.0.0.1:0", "listen `address` (loopback only)")
	lifetime := fs.Duration("token-lifetime", time.Hour, "lifetime of the Hub tokens it issues")
	useTLS := fs.Bool("tls", false, "serve https (HTTP/2) with a certificate made now, written to a file that "+transport.ExtraCAFileVar+" names")
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
	dir, err := os.MkdirTemp("", "hf-oidc-sandbox-")
	if err != nil {
		return fmt.Errorf("creating the sandbox's directory: %w", err)
	}
	defer os.RemoveAll(dir)
	idFile := filepath.Join(dir, "id-token")
	if err := writeSandboxIDToken(sb, idFile); err != nil {
		return err
	}
	secretFile := filepath.Join(dir, "mint-secret")
	if err := os.WriteFile(secretFile, []byte(sb.MintSecret()+"\n"), 0o600); err != nil {
		return fmt.Errorf("writing the sandbox's mint secret: %w", err)
	}
	// The env provider and a CA of hf-oidc's own: nothing that makes
	// hf-oidc, or any other program in that shell, believe it runs in a CI
	// job or trust other roots.
	var caVars []string
	if pem := sb.CertPEM(); pem != nil {
		ca := filepath.Join(dir, "ca.pem")
		if err := os.WriteFile(ca, pem, 0o644); err != nil {
			return fmt.Errorf("writing the sandbox's certificate: %w", err)
		}
		caVars = []string{transport.ExtraCAFileVar + "=" + ca}
	}
	vars := append([]string{"HF_ENDPOINT=" + sb.URL(), "HF_OIDC_PROVIDER=env", "HF_OIDC_ID_TOKEN_FILE=" + idFile}, caVars...)
	// For a GitHub Actions job that has the runner's GITHUB_ACTIONS but no
	// id-token permission (this repository's CI): the sandbox's
	// GitHub-style ID-token endpoint stands in for GitHub's.
	githubFile := filepath.Join(dir, "github.env")
	githubVars := append(slices.DeleteFunc(sb.GitHubEnv(), func(kv string) bool { return strings.HasPrefix(kv, "GITHUB_ACTIONS=") }), caVars...)
	if err := os.WriteFile(githubFile, []byte(strings.Join(githubVars, "\n")+"\n"), 0o600); err != nil {
		return fmt.Errorf("writing the sandbox's GitHub variables: %w", err)
	}
	names := make([]string, len(rs))
	for i, r := range rs {
		sb.TrustGitHub(r.Name)
		names[i] = r.Name
	}
	printSandbox(env.Stdout, sb, vars, names, secretFile, githubFile)

	renew := time.NewTicker(sandboxIDTokenRenew)
	defer renew.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-renew.C:
			if err := writeSandboxIDToken(sb, idFile); err != nil {
				fmt.Fprintf(env.Stderr, "hf-oidc sandbox: %v\n", err)
			}
		}
	}
}

func printSandbox(w io.Writer, sb *sandbox.Sandbox, vars, names []string, secretFile, githubFile string) {
	set, unset := make([]string, len(vars)), make([]string, len(vars))
	for i, kv := range vars {
		k, v, _ := strings.Cut(kv, "=")
		set[i], unset[i] = k+"="+safetext.ShellQuote(v), k
	}
	fmt.Fprintf(w, "# hf-oidc sandbox on %s (Ctrl-C to stop): a local OIDC issuer and Hub; nothing leaves this machine.\n", sb.URL())
	fmt.Fprintf(w, "# trusted for the sandbox's GitHub claims: %s\n", strings.Join(names, ", "))
	fmt.Fprintf(w, "# In another shell, point hf-oidc at it (no secret on this line: the ID token is in the file, re-minted every %s):\n", shortDuration(sandboxIDTokenRenew))
	fmt.Fprintf(w, "export %s\n", strings.Join(set, " "))
	fmt.Fprintf(w, "# Next: exchange, which puts the tokens in that shell's environment and prints none:\n")
	fmt.Fprintf(w, "eval \"$(%s exchange --resource %s)\"\n", selfName(), names[0])
	fmt.Fprintf(w, "# Undo: unset %s\n", strings.Join(unset, " "))
	fmt.Fprintf(w, "#\n")
	for _, line := range strings.Split(strings.TrimSpace(sb.Describe()), "\n") {
		fmt.Fprintf(w, "# %s\n", line)
	}
	fmt.Fprintf(w, "# $%s, the mint endpoints' bearer secret, is in %s\n", sandbox.MintSecretVar, secretFile)
	fmt.Fprintf(w, "# A GitHub Actions job without id-token permission can use its GitHub-style ID tokens instead: cat %s >> \"$GITHUB_ENV\"\n", safetext.ShellQuote(githubFile))
}

// writeSandboxIDToken replaces file, atomically, with a new GitHub-style ID
// token of sb's, for the env provider, which reads the file on every mint.
func writeSandboxIDToken(sb *sandbox.Sandbox, file string) error {
	tok, err := sb.MintIDToken(map[string]any{"exp": time.Now().Add(sandboxIDTokenLifetime)})
	if err != nil {
		return fmt.Errorf("minting the sandbox's ID token: %w", err)
	}
	tmp := file + ".new"
	if err := os.WriteFile(tmp, []byte(tok+"\n"), 0o600); err != nil {
		return fmt.Errorf("writing the sandbox's ID token: %w", err)
	}
	if err := os.Rename(tmp, file); err != nil {
		return fmt.Errorf("writing the sandbox's ID token: %w", err)
	}
	return nil
}

// selfName is how a shell runs this binary: "hf-oidc" when that is what
// PATH finds, else its path, so that a printed command works as printed.
func selfName() string {
	exe, err := os.Executable()
	if err != nil {
		return "hf-oidc"
	}
	if found, err := exec.LookPath("hf-oidc"); err == nil {
		a, errA := os.Stat(found)
		b, errB := os.Stat(exe)
		if errA == nil && errB == nil && os.SameFile(a, b) {
			return "hf-oidc"
		}
	}
	return safetext.ShellQuote(exe)
}

// shortDuration is d as people write it: 20m, not 20m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
