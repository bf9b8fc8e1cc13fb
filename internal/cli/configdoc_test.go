package cli

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// helpFlag is a flag's line in a command's --help, in the flag package's
// form (-name) or GNU's (--name).
var helpFlag = regexp.MustCompile(`^ {1,4}--?([a-z][a-z0-9-]*)\b`)

// TestConfigurationDocListsEveryFlag: docs/configuration.md, the one
// reference, has a row for every command and names every flag a command's
// --help shows (but those --help calls internal), so that a new command or
// flag is documented where users look for it.
func TestConfigurationDocListsEveryFlag(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	flags := 0
	for _, c := range commands {
		if !strings.Contains(doc, "\n| `hf-oidc "+c.name) {
			t.Errorf("docs/configuration.md's table of commands has no row for hf-oidc %s", c.name)
		}
		r := runMain(t, baseEnv(t), "", c.name, "--help")
		if r.code != 0 {
			t.Fatalf("hf-oidc %s --help exited %d: %s", c.name, r.code, r.stderr)
		}
		_, list, ok := strings.Cut(r.stdout, "\nFlags:\n")
		if !ok {
			t.Fatalf("hf-oidc %s --help has no Flags: section:\n%s", c.name, r.stdout)
		}
		lines := strings.Split(list, "\n")
		for i, l := range lines {
			m := helpFlag.FindStringSubmatch(l)
			if m == nil || strings.HasPrefix(strings.TrimSpace(l), "-h, --help") || i+1 < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[i+1]), "internal:") {
				continue
			}
			flags++
			if !strings.Contains(doc, "`--"+m[1]+"`") && !strings.Contains(doc, "`--"+m[1]+" ") {
				t.Errorf("hf-oidc %s --help shows --%s, which docs/configuration.md does not name", c.name, m[1])
			}
		}
	}
	if flags < 20 {
		t.Errorf("found %d flags in the commands' --help; is its form as this test expects?", flags)
	}
}
