package hubmatch

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzMatch: the Hub's matching is exact. A field matches only when the
// (derived) claim equals the configured value byte for byte: never a
// prefix, never a case fold, never a value of another claim; and Matches
// is true exactly when every field is.
func FuzzMatch(f *testing.F) {
	f.Add(`{"repository":"acme/training","ref":"refs/heads/main","workflow_ref":"acme/training/.github/workflows/publish.yml@refs/heads/main"}`, "branch", "main")
	f.Add(`{"ref":"refs/heads/main-backup"}`, "branch", "main")
	f.Add(`{"ref":"refs/tags/main"}`, "branch", "refs/tags/main")
	f.Add(`{"repository_id":123456789012345678901234567890}`, "repository_id", "123456789012345678901234567890")
	f.Add(`{"ref_protected":true}`, "ref_protected", "true")
	f.Add(`{"environment":null}`, "environment", "null")
	f.Add(`{"Repository":"acme/x"}`, "repository", "acme/x")
	f.Add(`{"workflow_ref":"a/b/.github/workflows/x.yml@refs/heads/m@x"}`, "workflow", "x.yml")
	f.Fuzz(func(t *testing.T, claimsJSON, name, want string) {
		dec := json.NewDecoder(strings.NewReader(claimsJSON))
		dec.UseNumber()
		var claims map[string]any
		if dec.Decode(&claims) != nil {
			return
		}
		expect := map[string]string{name: want, "repository": "acme/training"}
		fields := Match(claims, expect)
		if len(fields) != len(expect) {
			t.Fatalf("%d fields for %d expected", len(fields), len(expect))
		}
		all := true
		for i, fl := range fields {
			if i > 0 && fields[i-1].Name >= fl.Name {
				t.Fatalf("fields not in sorted order: %+v", fields)
			}
			if fl.Want != expect[fl.Name] {
				t.Fatalf("field %s wants %q, configured %q", fl.Name, fl.Want, expect[fl.Name])
			}
			v, present := claims[fl.Claim]
			if fl.Present != present {
				t.Fatalf("field %s: Present %v, claim present %v", fl.Name, fl.Present, present)
			}
			if fl.OK && (fl.Got != fl.Want || !present) {
				t.Fatalf("field %s matched %q against %q", fl.Name, fl.Got, fl.Want)
			}
			if fl.OK {
				got, scalar := Stringify(v)
				if !scalar {
					t.Fatalf("field %s matched a non-scalar claim %v", fl.Name, v)
				}
				switch fl.Name {
				case "branch":
					if got != "refs/heads/"+fl.Want {
						t.Fatalf("branch %q matched the ref %q", fl.Want, got)
					}
				case "workflow":
					if !strings.Contains(got, "/"+fl.Want+"@") && !strings.HasPrefix(got, fl.Want+"@") {
						t.Fatalf("workflow %q matched the workflow_ref %q", fl.Want, got)
					}
				default:
					if got != fl.Want {
						t.Fatalf("%s %q matched the claim %q", fl.Name, fl.Want, got)
					}
				}
			}
			all = all && fl.OK
		}
		if Matches(claims, expect) != all {
			t.Fatalf("Matches = %v, fields say %v", !all, all)
		}
		// One byte more or less never matches.
		for _, other := range []string{want + "x", want[:max(len(want)-1, 0)]} {
			if other == want {
				continue
			}
			for _, fl := range Match(claims, map[string]string{name: other}) {
				for _, orig := range fields {
					if orig.Name == fl.Name && orig.OK && fl.OK {
						t.Fatalf("%s matches both %q and %q", name, want, other)
					}
				}
			}
		}
	})
}
