package export

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sethvargo/go-githubactions"
)

// GitHub exports through GitHub Actions' workflow commands and files:
// masks on Stdout, variables to $GITHUB_ENV, the outputs token, expires-at
// and token-file to $GITHUB_OUTPUT, and a table without tokens to
// $GITHUB_STEP_SUMMARY.
type GitHub struct {
	Stdout   io.Writer           // where workflow commands go; nil: os.Stdout
	Getenv   func(string) string // reads GITHUB_ENV, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY; nil: os.Getenv
	FileMode bool
	// OutputsOnly writes nothing to $GITHUB_ENV: the tokens are this
	// step's outputs alone (token, and tokens: a JSON object of every
	// token by its variable's name), for the steps that name them.
	OutputsOnly bool
	// Clear are variables to set empty for later steps, which
	// huggingface_hub reads as unset (see StaleTokenVars): $GITHUB_ENV has
	// no way to unset. A workflow's env: that sets one still wins.
	Clear []string
	Rand  io.Reader // heredoc delimiters come from it; nil: crypto/rand
}

// ErrNoGitHubEnv is returned when GITHUB_ENV is not set.
var ErrNoGitHubEnv = errors.New("GITHUB_ENV is not set: not running inside GitHub Actions? use --format shell")

// ErrNoGitHubOutput is returned when OutputsOnly and GITHUB_OUTPUT is not
// set.
var ErrNoGitHubOutput = errors.New("GITHUB_OUTPUT is not set: not running inside GitHub Actions? use --format shell")

func (g GitHub) Export(entries []Entry) error {
	if len(entries) == 0 {
		return errNoEntries
	}
	stdout, getenv, rnd := g.Stdout, g.Getenv, g.Rand
	if stdout == nil {
		stdout = os.Stdout
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	envPath, outPath := getenv("GITHUB_ENV"), getenv("GITHUB_OUTPUT")
	switch {
	case g.OutputsOnly && outPath == "":
		return ErrNoGitHubOutput
	case !g.OutputsOnly && envPath == "":
		return ErrNoGitHubEnv
	}
	vars, err := variables(entries, g.FileMode)
	if err != nil {
		return err
	}
	if err := checkClear(g.Clear); err != nil {
		return err
	}
	// Everything is built before anything is written, so that a failure
	// here leaves no trace in the job.
	var env, out bytes.Buffer
	for _, v := range vars {
		if err := writeHeredoc(&env, v.Name, v.Value, rnd); err != nil {
			return err
		}
	}
	for _, n := range g.Clear {
		if err := writeHeredoc(&env, n, "", rnd); err != nil {
			return err
		}
	}
	first := entries[0]
	outputs := []Var{
		{Name: "token", Value: first.Token},
		{Name: "expires-at", Value: formatTime(first.ExpiresAt)},
		{Name: "token-file", Value: first.File},
	}
	if g.OutputsOnly {
		// Step outputs are declared ahead (a composite action cannot
		// add one per resource), so every token goes in one JSON object
		// keyed by the variable name it would have had:
		// fromJSON(steps.ID.outputs.tokens).HF_DATASET_TOKEN.
		byName := map[string]string{}
		for _, e := range entries {
			byName[e.Env] = e.Token
		}
		tokens, err := json.Marshal(byName)
		if err != nil {
			return err
		}
		outputs = append(outputs, Var{Name: "tokens", Value: string(tokens)})
	}
	for _, v := range outputs {
		if err := writeHeredoc(&out, v.Name, v.Value, rnd); err != nil {
			return err
		}
	}

	// The runner hides a secret only from the moment it sees its mask, and
	// later steps may print what we write: masks go first, in one write.
	var masks bytes.Buffer
	masked := map[string]bool{}
	mask := func(s string) {
		if s != "" && !masked[s] {
			masked[s] = true
			writeMask(&masks, s)
		}
	}
	for _, e := range entries {
		mask(e.Token)
	}
	for _, v := range vars {
		if v.Secret {
			mask(v.Value)
		}
	}
	if _, err := stdout.Write(masks.Bytes()); err != nil {
		return fmt.Errorf("masking tokens: %w", err)
	}

	if !g.OutputsOnly {
		if err := appendFile("GITHUB_ENV", envPath, env.Bytes()); err != nil {
			return err
		}
	}
	if outPath != "" {
		if err := appendFile("GITHUB_OUTPUT", outPath, out.Bytes()); err != nil {
			return err
		}
	}
	if p := getenv("GITHUB_STEP_SUMMARY"); p != "" {
		if err := appendFile("GITHUB_STEP_SUMMARY", p, summary(entries, g.FileMode, g.OutputsOnly)); err != nil {
			return err
		}
	}
	return nil
}

// appendFile appends b to the runner's file at path in one write, so that
// a failure does not leave half a variable, and never creates the file:
// one the runner did not make would be read by no one.
func appendFile(variable, path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("opening $%s: %w", variable, err)
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("appending to $%s: %w", variable, err)
	}
	return nil
}

const (
	delimiterPrefix   = "ghadelimiter_"
	delimiterAttempts = 3
)

// writeHeredoc appends NAME<<DELIMITER, the value and the delimiter, as the
// runner reads $GITHUB_ENV and $GITHUB_OUTPUT. The delimiter is random and
// checked against the value: a fixed one would let a value that contains it
// end early and set variables of its own.
func writeHeredoc(b *bytes.Buffer, name, value string, rnd io.Reader) error {
	for range delimiterAttempts {
		var raw [16]byte
		if _, err := io.ReadFull(rnd, raw[:]); err != nil {
			return fmt.Errorf("choosing a heredoc delimiter for %s: %w", name, err)
		}
		delim := delimiterPrefix + hex.EncodeToString(raw[:])
		if strings.Contains(name, delim) || strings.Contains(value, delim) {
			continue
		}
		fmt.Fprintf(b, "%s<<%s\n%s\n%s\n", name, delim, value, delim)
		return nil
	}
	return fmt.Errorf("choosing a heredoc delimiter for %s: %d random delimiters all occur in the value", name, delimiterAttempts)
}

// Mask writes the workflow command that makes the runner hide secret in
// every log from now on. The CLI calls it for the ID token the moment it
// has one.
func Mask(w io.Writer, secret string) error {
	var b bytes.Buffer
	writeMask(&b, secret)
	_, err := w.Write(b.Bytes())
	return err
}

func writeMask(b *bytes.Buffer, secret string) {
	writeCommand(b, &githubactions.Command{Name: "add-mask", Message: secret})
}

// Annotate writes a workflow command that shows message as an annotation
// of the run; level is "error", "warning" or "notice".
func Annotate(w io.Writer, level, title, message string) error {
	var b bytes.Buffer
	writeCommand(&b, &githubactions.Command{Name: level, Message: message, Properties: githubactions.CommandProperties{"title": title}})
	_, err := w.Write(b.Bytes())
	return err
}

// writeCommand writes one workflow command. The library escapes what the
// runner unescapes, so a line break cannot end a command early (and leave
// the rest of a secret unmasked) and "%" survives.
func writeCommand(b *bytes.Buffer, c *githubactions.Command) {
	b.WriteString(c.String())
	b.WriteByte('\n')
}

// summary is the Markdown table for $GITHUB_STEP_SUMMARY: which resource
// went to which variable, and until when. It never holds a token.
func summary(entries []Entry, fileMode, outputsOnly bool) []byte {
	var b bytes.Buffer
	if outputsOnly {
		b.WriteString("### Hugging Face tokens (step outputs only)\n\n| Resource | Key in the `tokens` output | Expires at |\n| --- | --- | --- |\n")
		for _, e := range entries {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", Markdown(e.Resource), Markdown(e.Env), formatTime(e.ExpiresAt))
		}
		b.WriteString("\n")
		return b.Bytes()
	}
	b.WriteString("### Hugging Face tokens\n\n| Resource | Variable | Expires at |\n| --- | --- | --- |\n")
	for i, e := range entries {
		names := []string{e.Env}
		switch {
		case i > 0:
		case fileMode && e.Env == "HF_TOKEN":
			names = []string{"HF_TOKEN_PATH"} // as Variables does
		case fileMode:
			names = append(names, "HF_TOKEN_PATH")
		case e.Env != "HF_TOKEN":
			names = append(names, "HF_TOKEN")
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", Markdown(e.Resource), Markdown(strings.Join(names, ", ")), formatTime(e.ExpiresAt))
	}
	b.WriteString("\n")
	return b.Bytes()
}

// Markdown escapes s for Markdown text or a table cell: "|" would end the
// cell, a line break the table, and other punctuation could start formatting
// or HTML.
func Markdown(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\r' || r == '\n':
			b.WriteByte(' ')
		case strings.ContainsRune("\\`*_{}[]()<>#+!|~&", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Debug writes message as a debug line of the step's log, which the
// runner shows only when debug logging is on (RUNNER_DEBUG=1).
func Debug(w io.Writer, message string) error {
	var b bytes.Buffer
	writeCommand(&b, &githubactions.Command{Name: "debug", Message: message})
	_, err := w.Write(b.Bytes())
	return err
}
