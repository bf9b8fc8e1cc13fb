package release

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// CheckOrb checks a packed orb (its YAML as JSON values) the way CircleCI's
// orb schema would, as far as this orb uses it: `circleci orb validate`
// sends the orb to CircleCI, and the release dry run is offline. It
// returns every problem found, or none.
func CheckOrb(orb any) []string {
	var c orbChecker
	top, ok := orb.(map[string]any)
	if !ok {
		return []string{"the orb is not a mapping"}
	}
	c.keys("the orb", top, "version", "description", "display", "orbs", "commands", "jobs", "executors", "examples")
	if !isVersion21(top["version"]) {
		c.bad("version is %v, want 2.1", top["version"])
	}
	c.text("the orb's description", top["description"])
	commands, ok := top["commands"].(map[string]any)
	if !ok || len(commands) == 0 {
		c.bad("the orb has no commands")
	}
	for _, name := range sortedKeys(commands) {
		c.command("command "+name, commands[name])
	}
	examples, _ := top["examples"].(map[string]any)
	for _, name := range sortedKeys(examples) {
		ex, ok := examples[name].(map[string]any)
		if !ok {
			c.bad("example %s is not a mapping", name)
			continue
		}
		c.keys("example "+name, ex, "description", "usage", "result")
		c.text("example "+name+"'s description", ex["description"])
		usage, _ := ex["usage"].(map[string]any)
		if !isVersion21(usage["version"]) {
			c.bad("example %s: usage.version is %v, want 2.1", name, usage["version"])
		}
		if orbs, _ := usage["orbs"].(map[string]any); len(orbs) == 0 {
			c.bad("example %s: usage names no orb", name)
		}
	}
	return c.problems
}

// isVersion21 reports whether v is config version 2.1, which YAML gives
// as a number unless quoted.
func isVersion21(v any) bool { return v == 2.1 || v == "2.1" }

type orbChecker struct{ problems []string }

func (c *orbChecker) bad(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

func (c *orbChecker) keys(what string, m map[string]any, allowed ...string) {
	for _, k := range sortedKeys(m) {
		if !slices.Contains(allowed, k) {
			c.bad("%s: unknown key %q (allowed: %s)", what, k, strings.Join(allowed, ", "))
		}
	}
}

func (c *orbChecker) text(what string, v any) {
	if s, ok := v.(string); !ok || strings.TrimSpace(s) == "" {
		c.bad("%s is missing or empty", what)
	}
}

var (
	parameterRef = regexp.MustCompile(`<<\s*parameters\.([A-Za-z0-9_-]+)\s*>>`)
	anyRef       = regexp.MustCompile(`<<[^>]*>>`)
	paramTypes   = []string{"string", "boolean", "integer", "enum", "executor", "steps", "env_var_name"}
	runKeys      = []string{"name", "command", "shell", "environment", "background", "working_directory", "no_output_timeout", "when"}
)

func (c *orbChecker) command(what string, v any) {
	cmd, ok := v.(map[string]any)
	if !ok {
		c.bad("%s is not a mapping", what)
		return
	}
	c.keys(what, cmd, "description", "parameters", "steps")
	c.text(what+"'s description", cmd["description"])
	params, _ := cmd["parameters"].(map[string]any)
	for _, name := range sortedKeys(params) {
		c.parameter(what+" parameter "+name, params[name])
	}
	steps, _ := cmd["steps"].([]any)
	if len(steps) == 0 {
		c.bad("%s has no steps", what)
	}
	for i, s := range steps {
		c.step(fmt.Sprintf("%s step %d", what, i+1), s)
	}
	// Every << … >> left after packing must be a declared parameter: an
	// <<include(…)>> the CLI did not inline, or a typo, fails here, not
	// in a user's pipeline.
	walkStrings(steps, func(s string) {
		for _, ref := range anyRef.FindAllString(s, -1) {
			m := parameterRef.FindStringSubmatch(ref)
			if m == nil {
				c.bad("%s: %s is not a parameter reference", what, ref)
			} else if _, ok := params[m[1]]; !ok {
				c.bad("%s: %s names no parameter of the command", what, ref)
			}
		}
	})
}

func (c *orbChecker) parameter(what string, v any) {
	p, ok := v.(map[string]any)
	if !ok {
		c.bad("%s is not a mapping", what)
		return
	}
	c.keys(what, p, "type", "description", "default", "enum")
	c.text(what+"'s description", p["description"])
	typ, _ := p["type"].(string)
	if !slices.Contains(paramTypes, typ) {
		c.bad("%s: type %v, want one of %s", what, p["type"], strings.Join(paramTypes, ", "))
	}
	def, has := p["default"]
	if !has {
		return
	}
	var ok2 bool
	switch typ {
	case "string", "env_var_name", "executor":
		_, ok2 = def.(string)
	case "boolean":
		_, ok2 = def.(bool)
	case "integer":
		f, isNum := def.(float64)
		ok2 = isNum && f == float64(int64(f))
	case "enum":
		enum, _ := p["enum"].([]any)
		ok2 = slices.Contains(enum, def)
	case "steps":
		_, ok2 = def.([]any)
	}
	if !ok2 {
		c.bad("%s: default %v is no %s", what, def, typ)
	}
}

func (c *orbChecker) step(what string, v any) {
	switch s := v.(type) {
	case string:
		if strings.TrimSpace(s) == "" {
			c.bad("%s is empty", what)
		}
	case map[string]any:
		if len(s) != 1 {
			c.bad("%s has %d keys, want one (the step's name)", what, len(s))
			return
		}
		if run, ok := s["run"]; ok {
			switch r := run.(type) {
			case string:
				c.text(what+"'s command", r)
			case map[string]any:
				c.keys(what, r, runKeys...)
				c.text(what+"'s command", r["command"])
			default:
				c.bad("%s: run is neither a command nor a mapping", what)
			}
		}
	default:
		c.bad("%s is neither a name nor a mapping", what)
	}
}

func walkStrings(v any, f func(string)) {
	switch x := v.(type) {
	case string:
		f(x)
	case []any:
		for _, e := range x {
			walkStrings(e, f)
		}
	case map[string]any:
		for _, k := range sortedKeys(x) {
			walkStrings(x[k], f)
		}
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
