package export

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestActions: outside GitHub Actions every method does nothing; inside,
// masks and annotations are written and the summary is appended to, never
// created.
func TestActions(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"", "false", "1", "TRUE"} {
		if a := InActions(func(string) string { return v }); a != nil {
			t.Errorf("GITHUB_ACTIONS=%q: inside GitHub Actions", v)
		}
	}
	var none *Actions
	var b bytes.Buffer
	if none.Mask(&b, "hf_secret") != nil || none.Annotate(&b, "error", "t", "m") != nil || none.AppendSummary([]byte("x")) != nil || none.HasSummary() || b.Len() != 0 {
		t.Errorf("outside GitHub Actions something was written: %q", b.String())
	}

	summary := filepath.Join(t.TempDir(), "summary")
	env := map[string]string{"GITHUB_ACTIONS": "true"}
	a := InActions(func(k string) string { return env[k] })
	if a.HasSummary() || a.AppendSummary([]byte("x")) != nil {
		t.Error("a step without a summary file has one")
	}
	if _, err := os.Stat(summary); err == nil {
		t.Error("the summary file was created")
	}
	env["GITHUB_STEP_SUMMARY"] = summary
	if err := a.AppendSummary([]byte("x")); err == nil {
		t.Error("appended to a summary file the runner did not make")
	}
	os.WriteFile(summary, []byte("before\n"), 0o644)
	if err := a.AppendSummary([]byte("after\n")); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(summary); string(got) != "before\nafter\n" {
		t.Errorf("summary = %q", got)
	}
	b.Reset()
	if err := a.Mask(&b, "hf_one", "hf_two"); err != nil || b.String() != "::add-mask::hf_one\n::add-mask::hf_two\n" {
		t.Errorf("Mask wrote %q, %v", b.String(), err)
	}
}
