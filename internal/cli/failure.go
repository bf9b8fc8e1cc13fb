package cli

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hf-oidc/hf-oidc/internal/diag"
	"github.com/hf-oidc/hf-oidc/internal/exchange"
	"github.com/hf-oidc/hf-oidc/internal/export"
	"github.com/hf-oidc/hf-oidc/internal/idtoken"
)

// printFailure prints the paragraph of a failed round, so that one read says
// what to change: each failed resource with the Hub's answer (OAuth error and
// description, HTTP status, request ID), the claims of the ID token the Hub
// saw and what to enter on the Hub to trust them, the most likely causes in
// order for each kind of failure, and the next step with its link. In GitHub
// Actions it also becomes an ::error:: annotation (on stdout with the github
// format, else on stderr, which the runner reads commands from too) and a
// section of the step summary.
func printFailure(env Env, github bool, s *session, results []exchange.Result, partial bool) {
	f := newFailure(env, s, results, partial)
	show(env, s.cfg.Getenv, github, "error", "hf-oidc: token exchange failed", f.text(), f.markdown())
}

// A failure is a failed round, analysed once for both renderings.
type failure struct {
	failed   []exchange.Result
	total    int
	partial  bool
	provider string
	endpoint string
	timeout  time.Duration
	now      time.Time

	token    *idtoken.Token // the ID token the Hub saw; nil if unknown
	shape    diag.Shape
	findings []diag.Finding // the token's problems, worst first
	kinds    []string       // the kinds of failure, most specific first
	ids      bool           // some answer has a request ID
	proxy    string         // the proxy the requests went through, if any
}

func newFailure(env Env, s *session, results []exchange.Result, partial bool) *failure {
	f := &failure{
		total:    len(results),
		partial:  partial,
		provider: s.provider.Name(),
		endpoint: s.cfg.Endpoint,
		timeout:  s.cfg.Timeout,
		now:      env.Now(),
		token:    s.ids.Last(),
	}
	if f.endpoint == "" {
		f.endpoint = exchange.DefaultEndpoint
	}
	if f.timeout == 0 {
		f.timeout = exchange.DefaultTimeout
	}
	seen := map[string]bool{}
	var errs []error
	for _, r := range results {
		if r.Err == nil {
			continue
		}
		f.failed = append(f.failed, r)
		errs = append(errs, r.Err)
		var xe *exchange.Error
		if errors.As(r.Err, &xe) {
			f.ids = f.ids || xe.RequestID != ""
		}
		seen[failureKind(r.Err)] = true
	}
	for _, k := range kindOrder {
		if seen[k.kind] {
			f.kinds = append(f.kinds, k.kind)
		}
	}
	if seen[kindProxy] {
		f.proxy = proxyFor(s.cfg.Getenv, errs)
	}
	if f.token != nil {
		f.shape = diag.ShapeOf(f.token, f.provider)
		f.findings = diag.CheckToken(diag.Input{
			Token:    f.token,
			Provider: f.provider,
			CanMint:  s.provider.CanMint(),
			Audience: s.cfg.Audience,
			Endpoint: s.cfg.Endpoint,
			Now:      f.now,
		})
		slices.SortStableFunc(f.findings, func(a, b diag.Finding) int { return int(b.Severity) - int(a.Severity) })
	}
	return f
}

// failureKind sorts a failure into the kinds that have their own causes:
// by the Hub's answer where it gave an OAuth one, else by what happened
// instead (see netKind).
func failureKind(err error) string {
	var xe *exchange.Error
	if !errors.As(err, &xe) {
		return netKind(err)
	}
	switch {
	case xe.Code == "invalid_grant" || xe.Code == "invalid_request":
		return xe.Code
	case xe.Status == 429 || xe.Status >= 500:
		return "unavailable"
	case xe.Code != "":
		return "invalid_request" // another OAuth error: the request's form
	case xe.Err != nil:
		return netKind(xe.Err)
	case xe.Status != 0:
		return kindNotHub // an answer, but not the Hub's: a redirect, a 404, a page
	default:
		return kindOther
	}
}

// kindOrder is the kinds, most specific first, with their entries on the
// troubleshooting page and their headings.
var kindOrder = []struct {
	kind    string
	anchor  diag.Anchor
	heading string
}{
	{"invalid_grant", diag.AnchorInvalidGrant, "Most likely causes of invalid_grant, in order"},
	{"invalid_request", diag.AnchorInvalidRequest, "Most likely causes of invalid_request, in order"},
	{kindNotHub, netAnchors[kindNotHub], "Most likely causes of an answer that is not the Hub's, in order"},
	{kindUntrusted, netAnchors[kindUntrusted], "Most likely causes of a certificate that is not trusted, in order"},
	{kindHostname, netAnchors[kindHostname], "Most likely causes of a certificate for another host, in order"},
	{kindTLS, netAnchors[kindTLS], "Most likely causes of a failed TLS handshake, in order"},
	{kindProxy, netAnchors[kindProxy], "Most likely causes of a failing proxy, in order"},
	{kindNoHost, netAnchors[kindNoHost], "Most likely causes of a host that does not exist, in order"},
	{kindDNS, netAnchors[kindDNS], "Most likely causes of a DNS failure, in order"},
	{kindRefused, netAnchors[kindRefused], "Most likely causes of a refused connection, in order"},
	{"unavailable", diag.AnchorHubUnavailable, "Most likely causes of a Hub that is rate-limiting or failing, in order"},
	{kindTimeout, netAnchors[kindTimeout], "Most likely causes of a Hub that does not answer in time, in order"},
	{kindOther, diag.AnchorHubUnreachable, "Most likely causes of no usable answer from the Hub, in order"},
}

func kindInfo(kind string) (diag.Anchor, string) {
	for _, k := range kindOrder {
		if k.kind == kind {
			return k.anchor, k.heading
		}
	}
	return diag.AnchorHubUnreachable, kind
}

// failureLine is one failure without the "exchanging token for R" context
// that the paragraph already gives.
func failureLine(err error) string {
	var xe *exchange.Error
	if errors.As(err, &xe) {
		return xe.Summary()
	}
	return err.Error()
}

// hubRefused reports whether the Hub read the ID token and refused it with
// an OAuth error: only then are its claims part of the answer. A failure to
// reach the Hub, or an answer from something else, says nothing of them.
func (f *failure) hubRefused() bool {
	return slices.Contains(f.kinds, "invalid_grant") || slices.Contains(f.kinds, "invalid_request")
}

func (f *failure) names() string {
	names := make([]string, len(f.failed))
	for i, r := range f.failed {
		names[i] = r.Resource.Name
	}
	return strings.Join(names, ", ")
}

// A cause is one likely cause of a failure, with its own entry when it has one.
type cause struct {
	text   string
	anchor diag.Anchor // "" when the kind's entry covers it
}

func causes(texts ...string) []cause {
	cs := make([]cause, len(texts))
	for i, t := range texts {
		cs[i] = cause{text: t}
	}
	return cs
}

// causes are the likely causes of one kind of failure, most likely first.
func (f *failure) causes(kind string) []cause {
	switch kind {
	case "invalid_grant":
		return f.grantCauses()
	case "invalid_request":
		return causes(
			"A resource is not in a form the Hub takes: ns/name (a model), datasets/ns/name, spaces/ns/name, kernels/ns/name, or a username.",
			fmt.Sprintf("HF_ENDPOINT (%s) is not the Hub itself but something in between that changes the request (a proxy or a mirror).", f.endpoint),
			"The Hub changed what it expects: update hf-oidc.",
		)
	case "unavailable":
		return causes(
			"The Hub is rate-limiting this runner (HTTP 429), or failing (HTTP 5xx; see https://status.huggingface.co).",
			fmt.Sprintf("--timeout (%s) left too little time for the retries to get through.", f.timeout),
		)
	default:
		cs, _ := f.netCauses(kind)
		return cs
	}
}

func (f *failure) grantCauses() []cause {
	var cs []cause
	for _, r := range f.failed {
		var xe *exchange.Error
		if errors.As(r.Err, &xe) && strings.Contains(xe.Description, "This operation was aborted") {
			cs = append(cs, cause{text: "The Hub timed out while checking the token (its description is \"This operation was aborted\"): nothing to change; run the job again."})
			break
		}
	}
	// What this side can see wrong with the token comes before what only
	// the Hub's side knows.
	for _, fd := range f.findings {
		if fd.Severity >= diag.Warning {
			cs = append(cs, cause{text: sentence(fd.Problem) + ". " + fd.Fix, anchor: fd.Anchor})
		}
	}
	expect := "NAME=VALUE,…"
	if f.token != nil {
		var words []string
		for _, fl := range diag.HubForm(f.token, f.shape).Fields {
			if !fl.Optional {
				words = append(words, fl.Name+"=…")
			}
		}
		if len(words) > 0 {
			expect = strings.Join(words, ",")
		}
	}
	iss := "the token's issuer"
	if f.token != nil {
		iss = diag.Display(f.token.Issuer)
	}
	return append(cs, causes(
		fmt.Sprintf("No Trusted Publisher of %s has these claims exactly: every field must equal the token's value above, with no patterns (refs/heads/main does not match refs/heads/main-backup). To see which field differs, run `hf-oidc claims --expect %s` with the publisher's values.", f.names(), expect),
		fmt.Sprintf("The publisher names another provider or issuer than %s.", iss),
		"The repo or user does not exist under that name, or the publisher is on another one (a dataset is datasets/ns/name, a Space spaces/ns/name; a username needs its publisher under the account's CI/CD Access).",
		"The account is locked.",
	)...)
}

// next is the "Next:" line of the most specific kind of failure, without
// its link, and the entry to link.
func (f *failure) next() (string, diag.Anchor) {
	var text string
	switch f.kinds[0] {
	case "invalid_grant":
		text = "On the Hub, open Settings → Trusted Publishers of each refused repo (for a username: CI/CD Access) and make a publisher's issuer and fields equal the values above."
	case "invalid_request":
		text = "Check the resource names and HF_ENDPOINT; if both are right, update hf-oidc."
	case "unavailable":
		text = "Run the job again in a few minutes, or raise --timeout."
	default:
		_, text = f.netCauses(f.kinds[0])
	}
	if f.ids {
		text += " Quote the request ID when you report a problem."
	}
	anchor, _ := kindInfo(f.kinds[0])
	return text, anchor
}

func (f *failure) text() string {
	var b strings.Builder
	outcome := "nothing was exported"
	if f.partial {
		outcome = "the others were exported (--allow-partial)"
	}
	// exchange, exec, refresh and the git helper all print this: the
	// paragraph names no command.
	fill(&b, "", "", fmt.Sprintf("hf-oidc: the exchange failed for %d of %d resource%s; %s.", len(f.failed), f.total, plural(f.total), outcome))
	for _, r := range f.failed {
		fill(&b, "  "+r.Resource.Name+": ", "    ", failureLine(r.Err))
	}
	if t := f.token; t != nil && f.hubRefused() {
		fill(&b, "", "", fmt.Sprintf("The ID token the Hub saw (%s provider, %s claims; never the token itself):", f.provider, f.shape.Title()))
		writeRows(&b, "  ", tokenRows(t, f.shape, f.now))
		fill(&b, "", "", fmt.Sprintf("To trust this job on the Hub, enter: %s.", formLine(diag.HubForm(t, f.shape))))
	}
	for _, kind := range f.kinds {
		anchor, heading := kindInfo(kind)
		fill(&b, "", "", heading+" "+anchor.See()+":")
		for i, c := range f.causes(kind) {
			if c.anchor != "" {
				c.text += " " + c.anchor.See()
			}
			fill(&b, fmt.Sprintf("  %d. ", i+1), "     ", c.text)
		}
	}
	next, anchor := f.next()
	fill(&b, "Next: ", "", next+" "+anchor.See())
	return b.String()
}

// markdown is the step summary's section: the same facts as text, as tables.
func (f *failure) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### hf-oidc: the token exchange failed\n\n")
	fmt.Fprintf(&b, "| Resource | Hub's answer | HTTP status | Request ID |\n| --- | --- | --- | --- |\n")
	for _, r := range f.failed {
		answer, status, id := export.Markdown(r.Err.Error()), "", ""
		var xe *exchange.Error
		if errors.As(r.Err, &xe) {
			answer = export.Markdown(xe.Summary())
			switch {
			case xe.Code != "" && xe.Description != "":
				answer = export.Markdown(xe.Code + ": " + xe.Description)
			case xe.Code != "":
				answer = export.Markdown(xe.Code)
			}
			if xe.Status != 0 {
				status = fmt.Sprint(xe.Status)
			}
			id = export.Markdown(xe.RequestID)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", export.Markdown(r.Resource.Name), answer, status, id)
	}
	if t := f.token; t != nil && f.hubRefused() {
		fmt.Fprintf(&b, "\n**The ID token the Hub saw** (%s provider, %s claims; never the token itself):\n\n| Claim | Value |\n| --- | --- |\n", export.Markdown(f.provider), export.Markdown(f.shape.Title()))
		for _, r := range tokenRows(t, f.shape, f.now) {
			fmt.Fprintf(&b, "| %s | %s |\n", export.Markdown(r[0]), export.Markdown(r[1]))
		}
		fmt.Fprintf(&b, "\n**To trust this job on the Hub, enter:** %s.\n", export.Markdown(formLine(diag.HubForm(t, f.shape))))
	}
	for _, kind := range f.kinds {
		anchor, heading := kindInfo(kind)
		fmt.Fprintf(&b, "\n**%s**%s:\n\n", export.Markdown(heading), mdLink(anchor))
		for i, c := range f.causes(kind) {
			fmt.Fprintf(&b, "%d. %s%s\n", i+1, export.Markdown(c.text), mdLink(c.anchor))
		}
	}
	next, anchor := f.next()
	fmt.Fprintf(&b, "\n**Next:** %s%s\n\n", export.Markdown(next), mdLink(anchor))
	return b.String()
}

// tokenRows are the token's claims as the Hub saw them: the registered ones,
// then those its shape's publishers match on.
func tokenRows(t *idtoken.Token, shape diag.Shape, now time.Time) [][2]string {
	rows := [][2]string{
		{"iss", diag.Display(t.Issuer)},
		{"aud", diag.Display(strings.Join(t.Audience, ", "))},
		{"sub", diag.Display(t.Subject)},
	}
	if !t.IssuedAt.IsZero() {
		rows = append(rows, [2]string{"iat", diag.Timestamp(t.IssuedAt) + " (" + relative(t.IssuedAt, now) + ")"})
	}
	rows = append(rows, [2]string{"exp", diag.Timestamp(t.Expiry) + " (" + relative(t.Expiry, now) + ")"})
	for _, c := range diag.KeyClaims(t, shape) {
		rows = append(rows, [2]string{c.Name, c.Value})
	}
	return rows
}

// relative says when t is from now: "in 4m57s", "3s ago", "now".
func relative(t, now time.Time) string {
	d := t.Sub(now).Round(time.Second)
	switch {
	case d > 0:
		return "in " + diag.Duration(d)
	case d < 0:
		return diag.Duration(d) + " ago"
	}
	return "now"
}

// formLine is the Hub form on one line: "repository acme/x, branch main,
// workflow publish.yml (provider GitHub Actions, issuer …)".
func formLine(form diag.Form) string {
	var parts []string
	for _, fl := range form.Fields {
		p := fl.Name + " " + diag.Display(fl.Value)
		if fl.Optional {
			p += " (optional)"
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		parts = []string{"no identifying claims in this token"}
	}
	return strings.Join(parts, ", ") + " (provider " + form.Provider + ", issuer " + diag.Display(form.Issuer) + ")"
}

// writeRows writes name-value rows with the values aligned.
func writeRows(w io.Writer, indent string, rows [][2]string) {
	width := 0
	for _, r := range rows {
		width = max(width, len(r[0]))
	}
	for _, r := range rows {
		fmt.Fprintf(w, "%s%-*s  %s\n", indent, width, r[0], r[1])
	}
}

// sentence capitalizes the first letter of a lowercase problem.
func sentence(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// mdLink is a Markdown link to an entry of the troubleshooting page.
func mdLink(a diag.Anchor) string {
	if a == "" {
		return ""
	}
	return " ([troubleshooting](" + a.URL() + "))"
}
