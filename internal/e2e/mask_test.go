package e2e

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/sandbox"
	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// maskStep is a GitHub Actions step whose script, over three token
// lifetimes, prints every token a step-bound hf-oidc hands out or keeps
// fresh: the token file of a foreground refresh, the token file of an exec
// command (printed by that command), and what git's credential helper
// answers from a detached keeper's directory. The runner reads workflow
// commands from the step's stdout and stderr, which are one stream here,
// as in the step's log.
const maskStep = `
set -u
"$HF_OIDC" refresh --detach --resource acme/model --token-dir "$KEPT" --refresh-margin 1s
"$HF_OIDC" refresh --resource acme/model --token-dir "$FRONT" --refresh-margin 1s &
front=$!
"$HF_OIDC" exec --resource datasets/acme/data --refresh-margin 1s -- \
	sh -c 'i=0; while [ $i -lt 25 ]; do cat "$HF_TOKEN_PATH"; echo; sleep 0.3; i=$((i+1)); done' &
child=$!
i=0
while [ $i -lt 25 ]; do
	[ -s "$FRONT/acme--model.token" ] && { cat "$FRONT/acme--model.token"; echo; }
	printf 'protocol=http\nhost=%s\npath=acme/model.git\n\n' "$HOST" |
		git -c credential.helper= -c "credential.helper=!\"$HF_OIDC\" git-credential --resource acme/model --token-dir $KEPT" \
			-c credential.useHttpPath=true credential fill | grep '^password='
	sleep 0.3
	i=$((i+1))
done
wait "$child"
kill "$front"
wait
"$HF_OIDC" refresh --stop --token-dir "$KEPT"
`

// TestMaskedBeforeShown: in GitHub Actions every token that a process
// running inside a step obtains or hands out (a foreground refresh's,
// exec's refreshes, the git helper's, a detached keeper's when the helper
// hands it to git) is masked before it first appears in the step's log,
// so the runner never shows one in clear.
func TestMaskedBeforeShown(t *testing.T) {
	t.Parallel()
	requireGit(t)
	sb := startSandbox(t, sandbox.Config{TokenLifetime: shortLifetime, IDTokenLifetime: 10 * time.Second})
	sb.TrustGitHub("acme/model")
	sb.TrustGitHub("datasets/acme/data")
	step := testkit.NewGitHubStep(t, sb)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", maskStep)
	cmd.Env = append(hermeticEnv(t, step.Env...),
		"HF_OIDC="+bin, "KEPT="+filepath.Join(dir, "kept"), "FRONT="+filepath.Join(dir, "front"),
		"HOST="+strings.TrimPrefix(sb.URL(), "http://"), "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0")
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log // one stream, in order, as the runner reads it
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	if err := cmd.Run(); err != nil {
		t.Fatalf("the step failed: %v\n%s", err, log.String())
	}
	text := log.String()

	shown := map[string]int{} // per resource: tokens the step printed
	for _, secret := range sb.Minted() {
		first := strings.Index(text, secret)
		if first < 0 {
			continue
		}
		if !strings.HasSuffix(text[:first], "::add-mask::") {
			t.Errorf("a secret (%.12s…) appears in the step's log before its mask: %q", secret, excerpt(text, first))
			continue
		}
		rest := strings.ReplaceAll(text[first:], "::add-mask::"+secret, "")
		if info, ok := sb.Token(secret); ok && strings.Contains(rest, secret) {
			shown[info.Resource]++
		}
	}
	// The step must have printed refreshed tokens from each source, or it
	// proved nothing: three lifetimes give two refreshes or more each.
	if shown["acme/model"] < 4 || shown["datasets/acme/data"] < 3 {
		t.Errorf("the step printed %v distinct tokens per resource: too few refreshes to prove anything\n%s", shown, text)
	}
}

// excerpt is the text just before i, where a secret begins.
func excerpt(text string, i int) string {
	return text[max(0, i-80):i]
}
