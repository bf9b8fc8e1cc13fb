package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/config"
	"github.com/hf-oidc/hf-oidc/internal/exchange"
	"github.com/hf-oidc/hf-oidc/internal/export"
	"github.com/hf-oidc/hf-oidc/internal/resource"
	"github.com/hf-oidc/hf-oidc/plugins/safetext"
)

const pipeAbout = `The entrypoint of the hf-oidc Bitbucket pipe. It reads the pipe's variables,
exchanges the step's ID token (BITBUCKET_STEP_OIDC_TOKEN, which a step with
oidc: true hands to its pipes) once per resource, writes the tokens as shell
export lines to hf-oidc.env in $BITBUCKET_PIPE_SHARED_STORAGE_DIR (mode 0600,
beside a .gitignore that keeps git from committing it), and prints the line
that loads them into the step's script and deletes the file.

Pipe variables:
  RESOURCES  required: the resources, as a YAML list or one string split on
             commas or newlines, each optionally R=ENV_NAME
  AUDIENCE   the ID token's audience (default https://huggingface.co)
  ENDPOINT   the Hub (default https://huggingface.co)

In bitbucket-pipelines.yml:
  - step:
      oidc: true
      script:
        - pipe: docker://OWNER/hf-oidc-pipe:1
          variables:
            RESOURCES: ['acme/model', 'datasets/acme/data']
        - . "$BITBUCKET_CLONE_DIR"/…/hf-oidc.env && rm -f …   # the line it prints
        - hf upload acme/model ./checkpoint .`

// The pipe writes its env file in the pipes' shared storage directory,
// which Bitbucket keeps in the clone directory (the one directory a pipe's
// container shares with the step), where a release script's `git add -A`
// would commit it. A .gitignore of "*" beside it, which git honours in any
// directory, keeps git from adding anything there, itself included: the
// directory holds what Bitbucket and its pipes generate, never anything to
// commit, and "*" only ever widens what another pipe's .gitignore ignored.
const (
	pipeEnvFile   = "hf-oidc.env"
	pipeGitignore = "# Written by the hf-oidc pipe: hf-oidc.env holds Hub tokens, and nothing here is to be committed.\n*\n"
)

func runPipe(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "pipe", "", pipeAbout)
	// The pipe's settings are its variables: Bitbucket passes no arguments.
	flags := config.Bind(fs.FlagSet)
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return config.Usagef("unexpected argument %q: the pipe takes its settings from its variables (RESOURCES, AUDIENCE, ENDPOINT)", fs.Arg(0))
	}
	getenv, err := pipeEnv(env.Getenv)
	if err != nil {
		return err
	}
	dir := strings.TrimSpace(env.Getenv("BITBUCKET_PIPE_SHARED_STORAGE_DIR"))
	if dir == "" {
		return config.Usagef("BITBUCKET_PIPE_SHARED_STORAGE_DIR is not set: Bitbucket sets it for pipes, and the tokens are written there; outside a pipe, run 'hf-oidc exchange' instead")
	}
	cfg, err := flags.Load(getenv)
	if err != nil {
		return err
	}
	// A pipe's debug switch, by Bitbucket's convention for pipes.
	if on, _ := strconv.ParseBool(strings.TrimSpace(env.Getenv("DEBUG"))); on && cfg.Debug == "" {
		cfg.Debug = "DEBUG=true"
	}
	// Checked before the exchange, so that a failure leaves nothing behind
	// and spends no token.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating the pipe's shared storage directory: %w", err)
	}
	path, err := filepath.Abs(filepath.Join(dir, pipeEnvFile))
	if err != nil {
		return fmt.Errorf("locating the env file: %w", err)
	}

	warnHubClientOverride(env, cfg)
	start := env.Now()
	s, entries, err := exchangeRound(ctx, env, cfg, "shell")
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := (export.Shell{W: &b}).Export(entries); err != nil {
		return fmt.Errorf("exporting tokens: %w", err)
	}
	if strings.TrimSpace(env.Getenv("ENDPOINT")) != "" {
		// The hf CLI and huggingface_hub in the script must talk to the
		// Hub the tokens are for.
		fmt.Fprintf(&b, "export HF_ENDPOINT=%s\n", safetext.ShellWord(cfg.Endpoint))
	}
	// The .gitignore goes first: from the moment the env file exists,
	// git passes it over.
	if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte(pipeGitignore), 0o644); err != nil {
		return fmt.Errorf("writing the .gitignore that keeps the env file out of git: %w", err)
	}
	if err := export.WritePrivateFile(path, b.Bytes()); err != nil {
		return fmt.Errorf("writing the env file: %w", err)
	}
	printPipeSummary(env, s, entries, path, env.Now().Sub(start))
	sayFirstFailed(env, s, entries, "HF_TOKEN")
	return nil
}

// pipeEnv is the environment as config.Load reads it, with the pipe's
// variables in place of hf-oidc's own. They are checked here, so that an
// error names the variable the user wrote in bitbucket-pipelines.yml.
func pipeEnv(getenv func(string) string) (func(string) string, error) {
	values, err := pipeResources(getenv)
	if err != nil {
		return nil, err
	}
	raw := make([]string, len(values))
	for i, v := range values {
		if _, err := resource.ParseList([]string{v.value}); err != nil {
			return nil, &config.UsageError{Err: fmt.Errorf("%s: %w", v.name, err)}
		}
		raw[i] = v.value
	}
	if _, err := resource.ParseList(raw); err != nil {
		return nil, &config.UsageError{Err: fmt.Errorf("RESOURCES: %w", err)}
	}
	over := map[string]string{
		// The pipe runs in a Bitbucket step: nothing else may answer.
		"HF_OIDC_PROVIDER":  "bitbucket",
		"HF_OIDC_RESOURCES": strings.Join(raw, "\n"),
	}
	if a := strings.TrimSpace(getenv("AUDIENCE")); a != "" {
		if strings.ContainsAny(a, " \t\r\n") {
			return nil, config.Usagef("AUDIENCE %q: an audience is a single URL-like string with no whitespace (default https://huggingface.co)", safetext.Clip(a, 100))
		}
		over["HF_OIDC_AUDIENCE"] = a
	}
	if e := strings.TrimRight(strings.TrimSpace(getenv("ENDPOINT")), "/"); e != "" {
		if _, err := exchange.CheckEndpoint(e); err != nil {
			// Not the value itself: a URL may hold a password, which
			// CheckEndpoint's message leaves out.
			return nil, config.Usagef("ENDPOINT: %v", err)
		}
		over["HF_ENDPOINT"] = e
	}
	return func(k string) string {
		if v, ok := over[k]; ok {
			return v
		}
		return getenv(k)
	}, nil
}

// A pipeValue is one value of a pipe variable and the variable it came from.
type pipeValue struct{ name, value string }

// pipeResources reads RESOURCES the two ways Bitbucket hands a pipe a
// variable: a YAML list arrives as RESOURCES_COUNT and RESOURCES_0,
// RESOURCES_1, …; a string as RESOURCES. The list wins when both are set.
func pipeResources(getenv func(string) string) ([]pipeValue, error) {
	count := strings.TrimSpace(getenv("RESOURCES_COUNT"))
	if count == "" {
		v := getenv("RESOURCES")
		if strings.TrimSpace(v) == "" {
			return nil, config.Usagef("RESOURCES is not set: give the pipe `variables: { RESOURCES: acme/model }`, or a list of resources (ns/name, datasets/ns/name, spaces/ns/name, kernels/ns/name, or a username)")
		}
		return []pipeValue{{"RESOURCES", v}}, nil
	}
	n, err := strconv.Atoi(count)
	if err != nil || n < 1 || n > resource.MaxResources {
		return nil, config.Usagef("RESOURCES_COUNT %q: expected the length of the RESOURCES list, 1 to %d (Bitbucket sets it for a list variable)", safetext.Clip(count, 20), resource.MaxResources)
	}
	values := make([]pipeValue, n)
	for i := range values {
		name := "RESOURCES_" + strconv.Itoa(i)
		v := getenv(name)
		if strings.TrimSpace(v) == "" {
			return nil, config.Usagef("%s is empty or not set, though RESOURCES_COUNT is %d: every item of the RESOURCES list must name a resource", name, n)
		}
		values[i] = pipeValue{name, v}
	}
	return values, nil
}

// printPipeSummary says what was written where, and the line that loads
// it. It never prints a token.
func printPipeSummary(env Env, s *session, entries []export.Entry, path string, took time.Duration) {
	fmt.Fprintf(env.Stdout, "hf-oidc pipe: %d token%s from the %s provider's ID token in %s, valid until %s, written to %s (mode 0600):\n",
		len(entries), plural(len(entries)), s.provider.Name(), took.Round(time.Millisecond), entries[0].ExpiresAt.UTC().Format(time.RFC3339), path)
	printEntries(env.Stdout, entries)
	fmt.Fprintf(env.Stdout, "Load them in the step's script, after the pipe, with this line, which deletes the file too:\n  %s\n", sourceLine(env.Getenv, path))
}

// sourceLine is the script line that loads the env file at path and, once
// it is loaded, deletes it, so that no step's later line (an artifact
// upload, a commit) finds the tokens in the clone directory. The pipe and
// the step see the clone directory, which holds the shared storage
// directory, at the path $BITBUCKET_CLONE_DIR names, so the line names it
// through that variable where it can.
func sourceLine(getenv func(string) string, path string) string {
	clone := getenv("BITBUCKET_CLONE_DIR")
	if clone == "" {
		clone, _ = os.Getwd()
	}
	w := safetext.ShellWord(path)
	if rel, err := filepath.Rel(clone, path); err == nil && clone != "" && filepath.IsAbs(clone) && rel != ".." && !strings.HasPrefix(rel, "../") {
		if r := safetext.ShellWord(filepath.ToSlash(rel)); !strings.HasPrefix(r, "'") {
			w = `"$BITBUCKET_CLONE_DIR"/` + r
		}
	}
	return ". " + w + " && rm -f " + w
}
