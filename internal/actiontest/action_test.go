package actiontest

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hf-oidc/hf-oidc/internal/sandbox"
	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// useTokens is a step after the action: it prints every variable (the
// runner must mask them), the action's outputs, and what the sandbox's
// whoami says of each token. The tokens go to curl through stdin, never
// argv.
const useTokens = `      - name: use the tokens
        env:
          OUT_TOKEN: ${{ steps.hf.outputs.token }}
          OUT_EXPIRES_AT: ${{ steps.hf.outputs.expires-at }}
          OUT_TOKEN_FILE: ${{ steps.hf.outputs.token-file }}
        run: |
          echo "outputs: token=$OUT_TOKEN expires-at=$OUT_EXPIRES_AT token-file=[$OUT_TOKEN_FILE]"
          for v in HF_TOKEN HF_TOKEN_ACME_AWESOME_MODEL HF_DATASET_TOKEN HF_TOKEN_ACME_BOT; do
            echo "$v=${!v}"
            printf 'header = "Authorization: Bearer %s"\n' "${!v}" |
              curl --fail --silent --show-error --config - "$HF_ENDPOINT/api/whoami-v2" |
              grep -o '\[OIDC\] [^"]*' | sed "s/^/whoami $v: /"
          done
          echo "HF_TOKEN_EXPIRES_AT=$HF_TOKEN_EXPIRES_AT"
`

const resources = `          resources: |
            acme/awesome-model
            datasets/acme/awesome-dataset=HF_DATASET_TOKEN
            acme-bot
`

var trusted = []string{"acme/awesome-model", "datasets/acme/awesome-dataset", "acme-bot"}

// assertTokensWork checks act's output of useTokens: every variable set and
// masked, each token live on the sandbox for its own resource, outputs set.
func assertTokensWork(t *testing.T, sb *sandbox.Sandbox, run actRun) {
	t.Helper()
	if run.code != 0 {
		t.Fatalf("act exited %d:\n%s", run.code, run.out)
	}
	assertContains(t, run.out,
		"HF_TOKEN=***",
		"HF_TOKEN_ACME_AWESOME_MODEL=***",
		"HF_DATASET_TOKEN=***",
		"HF_TOKEN_ACME_BOT=***",
		"whoami HF_TOKEN: [OIDC] acme/awesome-model",
		"whoami HF_TOKEN_ACME_AWESOME_MODEL: [OIDC] acme/awesome-model",
		"whoami HF_DATASET_TOKEN: [OIDC] datasets/acme/awesome-dataset",
		"whoami HF_TOKEN_ACME_BOT: [OIDC] acme-bot",
		"outputs: token=*** expires-at=",
		"token-file=[]",
	)
	rfc3339 := regexp.MustCompile(`expires-at=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ `)
	if !rfc3339.MatchString(run.out) {
		t.Errorf("the expires-at output is not RFC 3339 UTC")
	}
	if !regexp.MustCompile(`HF_TOKEN_EXPIRES_AT=\d{4}-`).MatchString(run.out) {
		t.Errorf("HF_TOKEN_EXPIRES_AT is not exported")
	}
	if strings.Contains(run.out, "No such file") {
		t.Errorf("a step complained of a missing file")
	}
	if st := sb.Stats(); st.Issued < len(trusted) {
		t.Errorf("the sandbox issued %d tokens, want at least %d", st.Issued, len(trusted))
	}
	testkit.NoLeak(t, sb, map[string]string{"act's output": run.out})
}

func TestActionExportsTokens(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, trusted...)
	r := newRepo(t, false)
	r.workflow(t, `      - id: hf
        uses: ./
        with:
          binary: `+bin+"\n"+resources+useTokens)
	run := runAct(t, r, sb, actOptions{})
	assertTokensWork(t, sb, run)
	assertContains(t, run.out, "using the binary given as input")
	if st := sb.Stats(); st.IDTokenRequests != 1 || st.Exchanges != len(trusted) {
		t.Errorf("got %d ID-token requests and %d exchanges, want 1 and %d", st.IDTokenRequests, st.Exchanges, len(trusted))
	}
}

func TestActionRejected(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, "acme/awesome-model")
	// acme/other has a publisher, but for another branch.
	sb.Trust(sandbox.Publisher{Resource: "acme/other", Issuer: sb.GitHubIssuer(), Claims: map[string]string{"repository": "acme/training", "branch": "release"}})
	r := newRepo(t, false)
	r.workflow(t, `      - id: hf
        uses: ./
        with:
          binary: `+bin+`
          resources: acme/awesome-model, acme/other
      - run: echo "the step after ran"
      - if: failure()
        run: echo "HF_TOKEN is [$HF_TOKEN]"
`)
	run := runActFailing(t, r, sb, actOptions{},
		"❌  Failure - Main ./",
		"the exchange failed for 1 of 2 resources; nothing was exported",
		"acme/other: invalid_grant",
		"request ID Root=",
		"Next: On the Hub",
		"HF_TOKEN is []",
	)
	if strings.Contains(run.out, "the step after ran") {
		t.Errorf("the step after the failed action ran")
	}
	testkit.NoLeak(t, sb, map[string]string{"act's output": run.out})
}

func TestActionBadInput(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, "acme/awesome-model")
	cases := []struct {
		name, with, want string
	}{
		{"no resources", "          resources: ' '\n", "the resources input is empty"},
		{"bad export", "          resources: acme/awesome-model\n          export: always\n", "the export input is 'always': expected env"},
		{"bad git", "          resources: acme/awesome-model\n          git: yes\n", "the git input is 'yes': expected true or false"},
		{"bad resource", "          resources: models/acme/x\n", `"models/acme/x"`},
		{"missing binary", "          resources: acme/awesome-model\n", "is not an executable file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			binary := bin
			if c.name == "missing binary" {
				binary = "/nonexistent/hf-oidc"
			}
			r := newRepo(t, false)
			r.workflow(t, fmt.Sprintf("      - uses: ./\n        with:\n          binary: %s\n%s", binary, c.with))
			run := runActFailing(t, r, sb, actOptions{}, c.want)
			testkit.NoLeak(t, sb, map[string]string{"act's output": run.out})
		})
	}
	if st := sb.Stats(); st.Exchanges != 0 {
		t.Errorf("bad input reached the Hub: %d exchanges", st.Exchanges)
	}
}
