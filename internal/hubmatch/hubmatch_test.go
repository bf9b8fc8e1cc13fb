package hubmatch

import (
	"encoding/json"
	"strings"
	"testing"
)

func githubClaims() map[string]any {
	return map[string]any{
		"repository":    "acme/training",
		"ref":           "refs/heads/main",
		"workflow_ref":  "acme/training/.github/workflows/publish.yml@refs/heads/main",
		"ref_protected": true,
		"run_number":    json.Number("42"),
		"run_attempt":   float64(3),
		"environment":   "production",
	}
}

func TestMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		claims map[string]any
		expect map[string]string
		want   []Field
	}{
		{
			name:   "github preset matches",
			claims: githubClaims(),
			expect: map[string]string{"repository": "acme/training", "branch": "main", "workflow": "publish.yml"},
			want: []Field{
				{Name: "branch", Claim: "ref", Want: "main", Got: "main", Present: true, OK: true},
				{Name: "repository", Claim: "repository", Want: "acme/training", Got: "acme/training", Present: true, OK: true},
				{Name: "workflow", Claim: "workflow_ref", Want: "publish.yml", Got: "publish.yml", Present: true, OK: true},
			},
		},
		{
			name:   "branch is exact, not a prefix",
			claims: map[string]any{"ref": "refs/heads/main-backup"},
			expect: map[string]string{"branch": "main"},
			want:   []Field{{Name: "branch", Claim: "ref", Want: "main", Got: "main-backup", Present: true}},
		},
		{
			name:   "ref is exact, not a prefix",
			claims: map[string]any{"ref": "refs/heads/main-backup"},
			expect: map[string]string{"ref": "refs/heads/main"},
			want:   []Field{{Name: "ref", Claim: "ref", Want: "refs/heads/main", Got: "refs/heads/main-backup", Present: true}},
		},
		{
			name:   "a tag never matches a branch",
			claims: map[string]any{"ref": "refs/tags/v1"},
			expect: map[string]string{"branch": "refs/tags/v1"},
			want:   []Field{{Name: "branch", Claim: "ref", Want: "refs/tags/v1", Got: "refs/tags/v1", Present: true}},
		},
		{
			name:   "no regex",
			claims: map[string]any{"repository": "acme/training"},
			expect: map[string]string{"repository": "acme/.*"},
			want:   []Field{{Name: "repository", Claim: "repository", Want: "acme/.*", Got: "acme/training", Present: true}},
		},
		{
			name:   "case matters",
			claims: map[string]any{"repository": "acme/training"},
			expect: map[string]string{"repository": "Acme/Training"},
			want:   []Field{{Name: "repository", Claim: "repository", Want: "Acme/Training", Got: "acme/training", Present: true}},
		},
		{
			name:   "workflow from another file",
			claims: map[string]any{"workflow_ref": "acme/training/.github/workflows/release.yml@refs/heads/main"},
			expect: map[string]string{"workflow": "publish.yml"},
			want:   []Field{{Name: "workflow", Claim: "workflow_ref", Want: "publish.yml", Got: "release.yml", Present: true}},
		},
		{
			name:   "missing claim",
			claims: map[string]any{},
			expect: map[string]string{"environment": "production", "branch": "main"},
			want: []Field{
				{Name: "branch", Claim: "ref", Want: "main"},
				{Name: "environment", Claim: "environment", Want: "production"},
			},
		},
		{
			name:   "other names compare with the claim of that name",
			claims: githubClaims(),
			expect: map[string]string{"environment": "production", "ref_protected": "true", "run_number": "42", "run_attempt": "3"},
			want: []Field{
				{Name: "environment", Claim: "environment", Want: "production", Got: "production", Present: true, OK: true},
				{Name: "ref_protected", Claim: "ref_protected", Want: "true", Got: "true", Present: true, OK: true},
				{Name: "run_attempt", Claim: "run_attempt", Want: "3", Got: "3", Present: true, OK: true},
				{Name: "run_number", Claim: "run_number", Want: "42", Got: "42", Present: true, OK: true},
			},
		},
		{
			name:   "a non-scalar claim never matches",
			claims: map[string]any{"aud": []any{"x"}, "nothing": nil},
			expect: map[string]string{"aud": `["x"]`, "nothing": "null"},
			want: []Field{
				{Name: "aud", Claim: "aud", Want: `["x"]`, Got: `["x"]`, Present: true},
				{Name: "nothing", Claim: "nothing", Want: "null", Got: "null", Present: true},
			},
		},
		{
			name:   "empty want does not match a missing claim",
			claims: map[string]any{},
			expect: map[string]string{"environment": ""},
			want:   []Field{{Name: "environment", Claim: "environment"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Match(tt.claims, tt.expect)
			if len(got) != len(tt.want) {
				t.Fatalf("Match() = %+v, want %+v", got, tt.want)
			}
			allOK := true
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("field %d = %+v, want %+v", i, got[i], tt.want[i])
				}
				allOK = allOK && tt.want[i].OK
			}
			if m := Matches(tt.claims, tt.expect); m != allOK {
				t.Errorf("Matches() = %v, want %v", m, allOK)
			}
		})
	}
}

func TestMatchesEmptyExpectation(t *testing.T) {
	t.Parallel()
	if !Matches(map[string]any{}, nil) {
		t.Error("Matches(nil expectation) = false, want true")
	}
}

func TestStringify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     any
		want   string
		scalar bool
	}{
		{"x", "x", true},
		{"", "", true},
		{true, "true", true},
		{false, "false", true},
		{json.Number("123456789012345678901234567890"), "123456789012345678901234567890", true},
		{json.Number("1e3"), "1000", true},
		{json.Number("1.0"), "1", true},
		{json.Number("1.5"), "1.5", true},
		{json.Number("-7"), "-7", true},
		{float64(1e21), "1000000000000000000000", true},
		{float64(2.5), "2.5", true},
		{42, "42", true},
		{int64(-42), "-42", true},
		{nil, "null", false},
		{map[string]any{"a": "b"}, `{"a":"b"}`, false},
	}
	for _, tt := range tests {
		got, scalar := Stringify(tt.in)
		if got != tt.want || scalar != tt.scalar {
			t.Errorf("Stringify(%#v) = %q, %v; want %q, %v", tt.in, got, scalar, tt.want, tt.scalar)
		}
	}
}

func TestBranch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ref, want string
		ok        bool
	}{
		{"refs/heads/main", "main", true},
		{"refs/heads/feature/x", "feature/x", true},
		{"refs/heads/", "", false},
		{"refs/tags/v1", "", false},
		{"refs/pull/1/merge", "", false},
		{"main", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := Branch(tt.ref)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("Branch(%q) = %q, %v; want %q, %v", tt.ref, got, ok, tt.want, tt.ok)
		}
	}
}

var workflowRefs = []struct {
	ref, want string
	ok        bool
}{
	{"acme/x/.github/workflows/publish.yml@refs/heads/main", "publish.yml", true},
	{"acme/x/.github/workflows/publish.yaml@refs/tags/v1.2", "publish.yaml", true},
	{"acme/x/.github/workflows/p.yml@refs/heads/feat@x/y", "p.yml", true},
	{"acme/x/.github/workflows/p.yml@0123456789abcdef0123456789abcdef01234567", "p.yml", true},
	{"publish.yml@refs/heads/main", "publish.yml", true},
	{"acme/x/.github/workflows/@refs/heads/main", "", false},
	{"acme/x/.github/workflows/publish.yml", "", false},
	{"@refs/heads/main", "", false},
	{"", "", false},
}

func TestWorkflowFile(t *testing.T) {
	t.Parallel()
	for _, tt := range workflowRefs {
		got, ok := WorkflowFile(tt.ref)
		if ok != tt.ok || got != tt.want {
			t.Errorf("WorkflowFile(%q) = %q, %v; want %q, %v", tt.ref, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzWorkflowFile(f *testing.F) {
	for _, tt := range workflowRefs {
		f.Add(tt.ref)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		file, ok := WorkflowFile(ref)
		if !ok {
			if file != "" {
				t.Fatalf("WorkflowFile(%q) = %q with ok=false", ref, file)
			}
			return
		}
		if file == "" || strings.ContainsAny(file, "/@") {
			t.Fatalf("WorkflowFile(%q) = %q: empty or holds / or @", ref, file)
		}
		if !strings.Contains(ref, file+"@") {
			t.Fatalf("WorkflowFile(%q) = %q: not followed by @ in the input", ref, file)
		}
		// The file name depends only on the path, never on the ref.
		path, _, _ := strings.Cut(ref, "@")
		if again, _ := WorkflowFile(path + "@refs/heads/other"); again != file {
			t.Fatalf("WorkflowFile depends on the ref: %q vs %q", file, again)
		}
	})
}

func FuzzStringify(f *testing.F) {
	for _, s := range []string{"0", "-1", "1e3", "1.5", "123456789012345678901234567890", "1e400", "-0.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var v any
		d := json.NewDecoder(strings.NewReader(s))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			return
		}
		got, scalar := Stringify(v)
		if n, isNum := v.(json.Number); isNum && scalar {
			if strings.ContainsAny(got, "eE") && got != string(n) {
				t.Fatalf("Stringify(%s) = %q: exponent in output", s, got)
			}
		}
		if str, isStr := v.(string); isStr && got != str {
			t.Fatalf("Stringify(%q) = %q, want the string itself", str, got)
		}
	})
}
