package release

import (
	"encoding/json"
	"strings"
	"testing"
)

const goodOrb = `{
  "version": 2.1,
  "description": "an orb",
  "commands": {
    "exchange": {
      "description": "exchange",
      "parameters": {
        "resources": {"type": "string", "description": "which"},
        "git": {"type": "boolean", "default": false, "description": "git"},
        "mode": {"type": "enum", "enum": ["env", "file"], "default": "env", "description": "mode"}
      },
      "steps": [
        "checkout",
        {"run": {"name": "x", "environment": {"R": "<< parameters.resources >>"}, "command": "echo << parameters.mode >>"}}
      ]
    }
  },
  "examples": {
    "publish": {"description": "d", "usage": {"version": "2.1", "orbs": {"hf-oidc": "hf-oidc/hf-oidc@1"}}}
  }
}`

func TestCheckOrb(t *testing.T) {
	t.Parallel()
	parse := func(s string) any {
		var v any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if p := CheckOrb(parse(goodOrb)); len(p) > 0 {
		t.Fatalf("a good orb: %q", p)
	}
	for name, c := range map[string]struct{ old, new, want string }{
		"version":             {`"version": 2.1`, `"version": 2`, "version is 2"},
		"unknown key":         {`"description": "an orb"`, `"description": "an orb", "job": {}`, `unknown key "job"`},
		"undeclared":          {`<< parameters.mode >>`, `<< parameters.mood >>`, "names no parameter"},
		"include left":        {`echo << parameters.mode >>`, `<<include(scripts/x.sh)>>`, "is not a parameter reference"},
		"bad type":            {`"type": "boolean"`, `"type": "bool"`, "type bool"},
		"bad default":         {`"default": false`, `"default": "no"`, "default no is no boolean"},
		"enum default":        {`"default": "env"`, `"default": "envy"`, "default envy is no enum"},
		"no description":      {`"description": "which"`, `"description": ""`, "parameter resources's description is missing"},
		"run without command": {`"command": "echo << parameters.mode >>"`, `"shell": "bash"`, "command is missing"},
		"example version":     {`"version": "2.1"`, `"version": "2.0"`, "usage.version"},
	} {
		orb := strings.Replace(goodOrb, c.old, c.new, 1)
		if orb == goodOrb {
			t.Fatalf("%s: %q is not in the orb", name, c.old)
		}
		p := CheckOrb(parse(orb))
		if !strings.Contains(strings.Join(p, "\n"), c.want) {
			t.Errorf("%s: problems %q, want one with %q", name, p, c.want)
		}
	}
}
