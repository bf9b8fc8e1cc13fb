package actiontest

import (
	"testing"

	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// TestActionExportNone: with export: none no token reaches a later step's
// environment; the steps that name the outputs get them, one per resource
// in the tokens object, and they work. allow-partial: true lets the
// trusted resources through when another is refused, and timeout and
// refresh-margin are taken.
func TestActionExportNone(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, "acme/awesome-model", "datasets/acme/awesome-dataset")
	r := newRepo(t, false)
	r.workflow(t, `      - id: hf
        uses: ./
        with:
          binary: `+bin+`
          export: none
          allow-partial: 'true'
          timeout: 30s
          refresh-margin: 2m
          resources: |
            acme/awesome-model
            datasets/acme/awesome-dataset=HF_DATASET_TOKEN
            acme/not-trusted
      - run: echo "env HF_TOKEN=[$HF_TOKEN] HF_DATASET_TOKEN=[$HF_DATASET_TOKEN] HF_TOKEN_ACME_AWESOME_MODEL=[$HF_TOKEN_ACME_AWESOME_MODEL]"
      - env:
          OUT_TOKEN: ${{ steps.hf.outputs.token }}
          MODEL: ${{ fromJSON(steps.hf.outputs.tokens).HF_TOKEN_ACME_AWESOME_MODEL }}
          DATASET: ${{ fromJSON(steps.hf.outputs.tokens).HF_DATASET_TOKEN }}
          NOT_TRUSTED: ${{ fromJSON(steps.hf.outputs.tokens).HF_TOKEN_ACME_NOT_TRUSTED }}
        run: |
          echo "outputs token=$OUT_TOKEN model=$MODEL not-trusted=[$NOT_TRUSTED]"
          for v in MODEL DATASET; do
            printf 'header = "Authorization: Bearer %s"\n' "${!v}" |
              curl --fail --silent --show-error --config - "$HF_ENDPOINT/api/whoami-v2" |
              grep -o '\[OIDC\] [^"]*' | sed "s/^/whoami $v: /"
          done
`)
	run := runAct(t, r, sb, actOptions{})
	if run.code != 0 {
		t.Fatalf("act exited %d:\n%s", run.code, run.out)
	}
	assertContains(t, run.out,
		"env HF_TOKEN=[] HF_DATASET_TOKEN=[] HF_TOKEN_ACME_AWESOME_MODEL=[]",
		"outputs token=*** model=*** not-trusted=[]",
		"whoami MODEL: [OIDC] acme/awesome-model",
		"whoami DATASET: [OIDC] datasets/acme/awesome-dataset",
		"set as this step's outputs only ($GITHUB_OUTPUT)",
		"acme/not-trusted",
	)
	testkit.NoLeak(t, sb, map[string]string{"act's output": run.out})
}

// TestActionBadNewInputs: the new inputs name themselves when wrong, and
// nothing is exchanged.
func TestActionBadNewInputs(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ with, want string }{
		{"export: nothing", "the export input is 'nothing': expected env"},
		{"allow-partial: maybe", "the allow-partial input is 'maybe': expected true or false"},
		{"timeout: soon", "the timeout input is 'soon': expected a duration like 60s or 2m"},
		{"refresh-margin: 5", "the refresh-margin input is '5': expected a duration like 5m or 90s"},
	} {
		t.Run(c.with, func(t *testing.T) {
			t.Parallel()
			sb := startSandbox(t, trusted...)
			r := newRepo(t, false)
			r.workflow(t, "      - uses: ./\n        with:\n          binary: "+bin+"\n          resources: acme/awesome-model\n          "+c.with+"\n")
			runActFailing(t, r, sb, actOptions{}, c.want, "troubleshooting.md#packaging-input")
			if n := sb.Stats().Exchanges; n != 0 {
				t.Errorf("%d exchanges", n)
			}
		})
	}
}
