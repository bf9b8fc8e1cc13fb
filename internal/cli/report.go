package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hf-oidc/hf-oidc/internal/config"
	"github.com/hf-oidc/hf-oidc/internal/diag"
	"github.com/hf-oidc/hf-oidc/internal/export"
	"github.com/hf-oidc/hf-oidc/internal/idtoken"
	"github.com/hf-oidc/hf-oidc/internal/transport"
	"github.com/hf-oidc/hf-oidc/plugins"
	"github.com/hf-oidc/hf-oidc/plugins/retry"
)

// A reportedError has already been printed in full (for example the
// paragraph of a failed exchange); report only sets the exit status.
type reportedError struct {
	err   error
	usage bool
	code  int // the exit status, when neither 1 nor 2 (exec passes on CMD's)
}

func (e *reportedError) Error() string { return e.err.Error() }
func (e *reportedError) Unwrap() error { return e.err }

// report prints err, the error a command returned, as a message and returns
// the exit status. Only this boundary adds the "what to do next" sentence.
func report(env Env, cmd string, err error) int {
	if err == nil || errors.Is(err, errHelp) {
		return 0
	}
	var rep *reportedError
	if errors.As(err, &rep) {
		switch {
		case rep.code != 0:
			return rep.code
		case rep.usage:
			return 2
		}
		return 1
	}
	m, code := explain(env, cmd, err)
	m.emit(env, env.Getenv, false)
	return code
}

// explain turns a command's error into its message and exit status: 2 for
// what the job's configuration must change, 1 for anything else.
func explain(env Env, cmd string, err error) (message, int) {
	var (
		setup  *plugins.SetupError
		nd     *plugins.NotDetectedError
		idErr  *idTokenError
		exp    *idtoken.ExpiredError
		runErr *runError
	)
	m := message{level: "error", cmd: cmd}
	switch {
	case errors.As(err, &setup), errors.As(err, &nd):
		// claims says the same, through the same diagnosis: a fork's pull
		// request is told apart from a missing permission here too.
		provider := ""
		if setup != nil {
			provider = setup.Provider
		}
		f := diag.NoToken(diag.Input{Provider: provider, TokenErr: err, Getenv: env.Getenv, Now: env.Now()})
		m.title, m.problem, m.next, m.snippet, m.anchor = "no ID token", f.Problem, f.Fix, f.Snippet, f.Anchor
		return m, 2
	case errors.As(err, &runErr):
		m.title, m.problem, m.next, m.anchor = "cannot run the command", runErr.Error(), runErr.next(), diag.AnchorExecCommand
		return m, runErr.code
	case config.IsUsage(err):
		m.title, m.problem = "bad input", err.Error()
		m.next, m.anchor = usageNext(cmd, err)
		return m, 2
	case errors.As(err, &exp):
		m.title, m.problem, m.anchor = "the ID token has expired", err.Error(), diag.AnchorExpired
		m.next = diag.ExpiredFix(exp.CanMint)
	case errors.As(err, &idErr) && !retry.Untrusted(err):
		m.title, m.problem, m.anchor = "no ID token", err.Error(), diag.AnchorNoIDToken
		next, ok := mintNext(idErr.provider, err)
		if !ok {
			next = fmt.Sprintf("The %s provider did not hand out an ID token, so nothing was sent to the Hub. Run the job again; if it keeps failing, check the provider's status and that this job may mint ID tokens.", idErr.provider)
		}
		m.next = next
	case retry.Untrusted(err):
		m.title, m.problem, m.anchor = "untrusted certificate", err.Error(), diag.AnchorHubUnreachable
		m.next = transport.UntrustedHint
	default:
		// What is left failed on this machine: a file, a directory, a
		// process or git, and err says which and the system's reason.
		m.title, m.problem, m.anchor = "failed", err.Error(), diag.AnchorLocalFailure
		m.next = "Fix what the system's reason above says (a directory's permissions, free space, a program that is missing), then run it again."
	}
	return m, 1
}

// warning is the message of a finding that does not stop the command.
func warning(f diag.Finding, title string) message {
	return message{level: "warning", title: title, problem: f.Problem, next: f.Fix, snippet: f.Snippet, anchor: f.Anchor}
}

// A message is one failure or warning, as hf-oidc reports every one: a
// first line that says what happened, the next step and the lines to paste
// for it, and the link to its entry in docs/troubleshooting.md. emit shows
// it on stderr and, in GitHub Actions, as an annotation and in the step
// summary.
type message struct {
	level   string // "error" or "warning"
	cmd     string // the command, named in the first line; "" for none
	title   string // the annotation's title, after "hf-oidc: "
	problem string // what happened: lowercase, without a final period
	next    string // what to do: sentences
	snippet []string
	anchor  diag.Anchor
}

// text is the message for a terminal or a log, wrapped at lineWidth:
//
//	hf-oidc exchange: GitHub gave this job no ID token: …
//	Next: Give the job that runs hf-oidc the permission. …
//	    permissions: { id-token: write, contents: read }
//	(see https://…/troubleshooting.md#github-id-token-permission)
func (m message) text() string {
	var b strings.Builder
	first := "hf-oidc: "
	if m.cmd != "" {
		first = "hf-oidc " + m.cmd + ": "
	}
	if m.level == "warning" {
		first += "warning: "
	}
	fill(&b, first, "", fullStop(m.problem))
	writeNext(&b, "", m.next, m.snippet, m.anchor)
	return b.String()
}

// writeNext writes a "Next:" line after indent: the next step, wrapped, the
// lines to paste, each as it is, and the link, last. In next, a line that
// starts with white space is to paste too (a provider's YAML block).
func writeNext(b *strings.Builder, indent, next string, snippet []string, anchor diag.Anchor) {
	parts := nextParts(next, snippet)
	prefix := indent + "Next: "
	for i, p := range parts {
		switch {
		case p.verbatim && prefix != indent:
			b.WriteString(strings.TrimRight(prefix, " ") + "\n")
			fallthrough
		case p.verbatim:
			b.WriteString(indent + p.text + "\n")
		case i == len(parts)-1:
			fill(b, prefix, indent, p.text+" "+anchor.See())
		default:
			fill(b, prefix, indent, p.text)
		}
		prefix = indent
	}
	if len(parts) == 0 || parts[len(parts)-1].verbatim {
		b.WriteString(prefix + anchor.See() + "\n")
	}
}

// A nextPart is prose to wrap, or a line to paste as it is.
type nextPart struct {
	text     string
	verbatim bool
}

// nextParts splits a next step into its prose and the lines to paste.
func nextParts(next string, snippet []string) []nextPart {
	var parts []nextPart
	for _, l := range strings.Split(next, "\n") {
		switch {
		case strings.TrimSpace(l) == "":
		case l[0] == ' ' || l[0] == '\t':
			parts = append(parts, nextPart{text: strings.TrimRight(l, " "), verbatim: true})
		default:
			parts = append(parts, nextPart{text: l})
		}
	}
	for _, l := range snippet {
		// Indented to stand out in a log, as a provider's blocks are.
		parts = append(parts, nextPart{text: "    " + l, verbatim: true})
	}
	return parts
}

// mdNext is writeNext's Markdown: the lines to paste in a fenced block.
func mdNext(next string, snippet []string, anchor diag.Anchor) string {
	var b strings.Builder
	b.WriteString("**Next:**")
	fence := false
	parts := nextParts(next, snippet)
	// A fenced block needs no indent to stand out: drop the one its lines share.
	margin := -1
	for _, p := range parts {
		if p.verbatim {
			if n := len(p.text) - len(strings.TrimLeft(p.text, " \t")); margin < 0 || n < margin {
				margin = n
			}
		}
	}
	for _, p := range parts {
		switch {
		case p.verbatim && !fence:
			b.WriteString("\n\n```yaml\n")
			fence = true
		case !p.verbatim && fence:
			b.WriteString("```\n\n")
			fence = false
		case !p.verbatim:
			b.WriteString(" ")
		}
		if p.verbatim {
			// A fenced block shows the lines as they are: nothing to escape.
			b.WriteString(p.text[margin:] + "\n")
		} else {
			b.WriteString(export.Markdown(p.text))
		}
	}
	if fence {
		b.WriteString("```\n\n")
	} else {
		b.WriteString(" ")
	}
	b.WriteString(strings.TrimPrefix(mdLink(anchor), " ") + "\n\n")
	return b.String()
}

// markdown is the message's section of the step summary.
func (m message) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### hf-oidc: %s\n\n", export.Markdown(m.title))
	fmt.Fprintf(&b, "%s\n\n", export.Markdown(sentence(fullStop(m.problem))))
	b.WriteString(mdNext(m.next, m.snippet, m.anchor))
	return b.String()
}

// emit reports m: its text on stderr and, in GitHub Actions, an annotation
// and a section of the step summary.
func (m message) emit(env Env, getenv func(string) string, onStdout bool) {
	show(env, getenv, onStdout, m.level, "hf-oidc: "+m.title, m.text(), m.markdown())
}

// show is emit for any rendered report: text on stderr and, in GitHub
// Actions, an annotation of level (on stdout when onStdout, for the github
// format; else on stderr, which the runner reads commands from too) and
// markdown appended to the step summary.
func show(env Env, getenv func(string) string, onStdout bool, level, title, text, markdown string) {
	fmt.Fprint(env.Stderr, text)
	// The demo runs with a GitHub-like environment of its own, without
	// the summary file a real runner always has: no annotation there.
	actions := export.InActions(getenv)
	switch {
	case onStdout:
		export.Annotate(env.Stdout, level, title, text)
	case actions.HasSummary():
		actions.Annotate(env.Stderr, level, title, text)
	}
	if err := actions.AppendSummary([]byte(markdown)); err != nil {
		fmt.Fprint(env.Stderr, message{level: "warning", problem: "writing the step summary: " + err.Error(), next: "Check that $GITHUB_STEP_SUMMARY names a file this step may write.", anchor: diag.AnchorLocalFailure}.text())
	}
}
