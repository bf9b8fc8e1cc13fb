package actiontest

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// requireCommand skips when the binary under test lacks a command or flag
// that another part of hf-oidc brings.
func requireCommand(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Skipf("hf-oidc %s: %v (%.80s)", strings.Join(args, " "), err, out)
	}
}

// TestActionExportFile: export: file starts the background keeper, exports
// HF_TOKEN_PATH (and not HF_TOKEN, which would go stale), and the file's
// token works. An HF_TOKEN and HUGGING_FACE_HUB_TOKEN an earlier step left
// in the job's environment are emptied for the later steps, since
// huggingface_hub would prefer them to the file.
func TestActionExportFile(t *testing.T) {
	t.Parallel()
	requireCommand(t, "refresh", "--help")
	sb := startSandbox(t, trusted...)
	r := newRepo(t, false)
	r.workflow(t, `      - run: printf 'HF_TOKEN=hf_stale_from_a_secret\nHUGGING_FACE_HUB_TOKEN=hf_stale_too\n' >> "$GITHUB_ENV"
      - id: hf
        uses: ./
        with:
          binary: `+bin+`
          export: file
          resources: acme/awesome-model
      - env:
          OUT_TOKEN_FILE: ${{ steps.hf.outputs.token-file }}
          OUT_TOKEN: ${{ steps.hf.outputs.token }}
        run: |
          echo "HF_TOKEN=[$HF_TOKEN] HUGGING_FACE_HUB_TOKEN=[$HUGGING_FACE_HUB_TOKEN] token output=$OUT_TOKEN"
          test -n "$HF_TOKEN_PATH" && test "$OUT_TOKEN_FILE" = "$HF_TOKEN_PATH" && echo "token-file is HF_TOKEN_PATH"
          printf 'header = "Authorization: Bearer %s"\n' "$(cat "$HF_TOKEN_PATH")" |
            curl --fail --silent --show-error --config - "$HF_ENDPOINT/api/whoami-v2" |
            grep -o '\[OIDC\] [^"]*' | sed "s/^/whoami HF_TOKEN_PATH: /"
      - if: always()
        run: '`+bin+` refresh --stop'
`)
	run := runAct(t, r, sb, actOptions{})
	if run.code != 0 {
		t.Fatalf("act exited %d:\n%s", run.code, run.out)
	}
	assertContains(t, run.out,
		"HF_TOKEN and HUGGING_FACE_HUB_TOKEN set here; emptied for later steps",
		"HF_TOKEN=[] HUGGING_FACE_HUB_TOKEN=[] token output=***",
		"token-file is HF_TOKEN_PATH",
		"whoami HF_TOKEN_PATH: [OIDC] acme/awesome-model",
	)
	testkit.NoLeak(t, sb, map[string]string{"act's output": run.out})
}

// TestActionGit: git: true configures git's credential helper for the Hub,
// which then hands git a token for the endpoint's host.
func TestActionGit(t *testing.T) {
	t.Parallel()
	requireCommand(t, "exchange", "--git", "--help")
	requireTool(t, "git")
	sb := startSandbox(t, trusted...)
	r := newRepo(t, false)
	r.workflow(t, `      - uses: ./
        with:
          binary: `+bin+`
          git: true
          resources: acme/awesome-model
      - run: |
          git config --global --get-regexp '^url\..*insteadof$' | sed 's/^/git rewrites: /'
          host=${HF_ENDPOINT#http://}
          printf 'protocol=http\nhost=%s\npath=acme/awesome-model.git\n\n' "$host" |
            git credential fill | grep -c '^password=hf_' | sed 's/^/git passwords: /'
`)
	run := runAct(t, r, sb, actOptions{})
	if run.code != 0 {
		t.Fatalf("act exited %d:\n%s", run.code, run.out)
	}
	assertContains(t, run.out, "git rewrites: url.", "git passwords: 1")
	testkit.NoLeak(t, sb, map[string]string{"act's output": run.out})
}
