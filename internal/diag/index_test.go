package diag

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestTroubleshootingIndex: the index at the top of docs/troubleshooting.md
// links every entry of the page, so that a reader who searches it for the
// words of a message finds every entry there.
func TestTroubleshootingIndex(t *testing.T) {
	t.Parallel()
	page, err := os.ReadFile(filepath.Join(root, "docs", "troubleshooting.md"))
	if err != nil {
		t.Fatal(err)
	}
	index := regexp.MustCompile(`(?s)<!-- index:begin[^>]*-->\n(.*?)<!-- index:end -->`).FindSubmatch(page)
	if index == nil {
		t.Fatal("docs/troubleshooting.md has no <!-- index:begin --> … <!-- index:end --> section")
	}
	rows := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\|.*\]\(#([^)]*)\) \|$`).FindAllSubmatch(index[1], -1) {
		rows[string(m[1])] = true
	}
	entries := regexp.MustCompile(`<a id="([^"]*)"></a>\n### `).FindAllSubmatch(page, -1)
	if len(entries) < 20 {
		t.Fatalf("only %d entries found: is the page's form as this test expects?", len(entries))
	}
	for _, m := range entries {
		if !rows[string(m[1])] {
			t.Errorf("docs/troubleshooting.md's index has no row for #%s: add one, with the words of the message that leads there", m[1])
		}
	}
}
