package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/hf-oidc/hf-oidc/internal/config"
	"github.com/hf-oidc/hf-oidc/internal/exchange"
	"github.com/hf-oidc/hf-oidc/internal/gitcred"
	"github.com/hf-oidc/hf-oidc/plugins/safetext"
)

const gitFlagUsage = "configure git to get the Hub's credentials from 'hf-oidc git-credential', and rewrite git@hf.co: and ssh://git@hf.co/ remotes to HTTPS"

// A gitSetup is the git configuration --git writes: the helper, with every
// setting it needs on its command line (no token: it finds or fetches
// those itself), and the rewrites of SSH-style remotes.
type gitSetup struct {
	entries []gitcred.Entry
}

// newGitSetup checks that git is there, before anything is exchanged, and
// builds the configuration for the helper to use tokenDir. When it is
// empty the helper gets no --token-dir and takes the default of the job
// that runs git: git's global configuration outlives the job on a
// self-hosted runner, and a directory named there would be the next job's
// too.
func newGitSetup(cfg *config.Config, env Env, tokenDir string) (*gitSetup, error) {
	if _, err := exec.LookPath("git"); err != nil {
		return nil, config.Usagef("--git needs git on PATH, and it is not there: install git or leave out --git")
	}
	endpoint, err := exchange.CheckEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, config.Usagef("%v", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding hf-oidc's own path for git: %w", err)
	}
	if tokenDir == "" {
		tokenDir = cfg.Getenv("HF_OIDC_TOKEN_DIR")
	}
	helper := gitcred.HelperCommand(exe, helperArgs(cfg, tokenDir)...)
	return &gitSetup{entries: gitcred.Settings(endpoint, helper)}, nil
}

// helperArgs are the helper's arguments: every setting that was given, so
// that git, which runs the helper from later steps whose environment may
// lack them, gets the same resources, endpoint and provider. Secrets are
// never flags, so none is written into git's configuration.
func helperArgs(cfg *config.Config, tokenDir string) []string {
	args := []string{"git-credential"}
	for _, r := range cfg.Resources {
		args = append(args, "--resource="+r.String())
	}
	args = append(args, "--endpoint="+cfg.Endpoint)
	if tokenDir != "" {
		args = append(args, "--token-dir="+tokenDir)
	}
	for _, v := range config.Vars {
		switch {
		case v.Flag == "" || v.Sensitive || v.CI:
		case v.Name == "HF_OIDC_RESOURCES" || v.Name == "HF_ENDPOINT" || v.Name == "HF_OIDC_TOKEN_DIR":
		default:
			if val := strings.TrimSpace(cfg.Getenv(v.Name)); val != "" {
				args = append(args, "--"+v.Flag+"="+val)
			}
		}
	}
	return args
}

// configureGlobal writes the configuration with git config --global, which
// writes GIT_CONFIG_GLOBAL when set, else ~/.gitconfig, as env describes
// them.
func (g *gitSetup) configureGlobal(ctx context.Context, env Env) error {
	run := func(ctx context.Context, args ...string) error {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Env = env.environ()
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("git %s: %w: %s", strings.Join(args[:3], " "), err, safetext.Snippet(string(out), 200))
		}
		return nil
	}
	return gitcred.Configure(ctx, run, g.entries)
}

// envConfig is the configuration as GIT_CONFIG_* variables, for exec's
// command alone.
func (g *gitSetup) envConfig(getenv func(string) string) ([]string, error) {
	return gitcred.EnvConfig(getenv, g.entries)
}
