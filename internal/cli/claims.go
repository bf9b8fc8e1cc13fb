package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/config"
	"github.com/hf-oidc/hf-oidc/internal/diag"
	"github.com/hf-oidc/hf-oidc/internal/hubmatch"
	"github.com/hf-oidc/hf-oidc/internal/idtoken"
)

const claimsAbout = `Shows the claims of the ID token this job gets from its CI provider (never
the token itself, nor its signature), what to enter on the Hub's publisher
form to trust this job, and every problem visible from here, each with its
fix and a link to docs/troubleshooting.md.

--expect takes the publisher's fields as configured on the Hub, in the words
of its form, and compares them with the token's claims exactly as the Hub
does, field by field: the answer to "which check failed" that the Hub's
invalid_grant does not give.

Exit status: 0 when no problem of severity error is found (and every
--expect field matches); 1 when one is (no ID token at all counts); 2 on bad
flags.

Examples:
  hf-oidc claims
  hf-oidc claims --expect repository=acme/training,branch=main,workflow=publish.yml
  hf-oidc claims --id-token-file token.jwt --json`

// claimsSettings are the variables, shared with exchange, that say where the
// ID token comes from; each that has a flag gets it here too.
var claimsSettings = []string{"HF_OIDC_PROVIDER", "HF_OIDC_AUDIENCE", "HF_OIDC_ID_TOKEN_FILE", "HF_OIDC_ID_TOKEN_VAR", "HF_OIDC_TIMEOUT", "HF_OIDC_VERBOSE"}

func runClaims(ctx context.Context, env Env, args []string) error {
	return claims(ctx, env, args)
}

func claims(ctx context.Context, env Env, args []string) error {
	opts, err := parseClaims(env, args)
	if err != nil {
		return err
	}
	in := diag.Input{Audience: opts.cfg.Audience, Endpoint: opts.cfg.Endpoint, Resources: opts.resources, Getenv: opts.cfg.Getenv}
	s, err := newSession(opts.cfg, env, nil)
	switch {
	case config.IsUsage(err):
		return err
	case err != nil:
		in.TokenErr = err
	default:
		in.Provider, in.CanMint = s.provider.Name(), s.provider.CanMint()
		in.Token, in.TokenErr = fetchIDToken(ctx, s)
	}
	in.Now = env.Now()
	if opts.expect != nil {
		if err := diag.CheckExpectNames(opts.expect, in.Token, diag.ShapeOf(in.Token, in.Provider)); err != nil {
			return &config.UsageError{Err: fmt.Errorf("--expect: %w", err),
				Next: "name each field as the Hub's publisher form does: `hf-oidc claims` without --expect lists this token's, under \"To trust this job\"."}
		}
	}

	r := newClaimsReport(in, opts.expect)
	if opts.json {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("writing the report: %w", err)
		}
	} else {
		r.writeText(env.Stdout)
	}
	if !r.OK {
		return &reportedError{err: errors.New("claims: problems found")}
	}
	return nil
}

// claimsOptions are claims' flags and variables, resolved and checked.
type claimsOptions struct {
	cfg       *config.Config // where the ID token comes from
	resources []string       // to check the form of; unparsed
	expect    map[string]string
	json      bool
}

func parseClaims(env Env, args []string) (*claimsOptions, error) {
	fs := newFlagSet(env, "claims", "[flags]", claimsAbout)
	flags := config.Bind(fs.FlagSet, claimsSettings...)
	var resources, expect listValue
	fs.Var(&resources, "resource", "resource `R` whose form to check, as exchange takes it (repeatable; env HF_OIDC_RESOURCES)")
	fs.Var(&expect, "expect", "the publisher's `FIELDS` as configured on the Hub, such as repository=acme/training,branch=main (repeatable): each is compared with the token's claims as the Hub does")
	asJSON := fs.Bool("json", false, "print the report as JSON on stdout, for scripts")
	if err := fs.parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, config.Usagef("unexpected argument %q: claims takes only flags", fs.Arg(0))
	}
	// The settings are resolved and checked as exchange checks them; the
	// resources only have their form checked, in the report.
	cfg, err := flags.LoadSettings(env.Getenv)
	if err != nil {
		return nil, err
	}
	o := &claimsOptions{cfg: cfg, resources: resources, json: *asJSON}
	if len(expect) > 0 {
		if o.expect, err = diag.ParseExpect(expect); err != nil {
			return nil, &config.UsageError{Err: fmt.Errorf("--expect: %w", err)}
		}
	}
	if len(o.resources) == 0 {
		if v := cfg.Getenv("HF_OIDC_RESOURCES"); v != "" {
			o.resources = []string{v}
		}
	}
	return o, nil
}

// fetchIDToken gets an ID token from the session's provider, as exchange
// does, but not through the session's source: that refuses an expired token,
// and claims must show that one too.
func fetchIDToken(ctx context.Context, s *session) (*idtoken.Token, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	raw, err := s.provider.IDToken(ctx, s.cfg.Audience)
	if err != nil {
		return nil, err
	}
	t, err := idtoken.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("reading the ID token: %w", err)
	}
	// Nothing below needs the token, and what is not there cannot be printed.
	t.Raw = ""
	return t, nil
}

// claimsReport is what claims prints, and its JSON form.
type claimsReport struct {
	Provider string         `json:"provider"` // the provider in use; "" when none was detected
	Shape    diag.Shape     `json:"shape"`
	Token    *tokenView     `json:"token"`         // nil without a token
	Form     *diag.Form     `json:"hub_publisher"` // nil without a token
	Findings []diag.Finding `json:"findings"`
	Expect   []expectView   `json:"expect,omitempty"`
	OK       bool           `json:"ok"` // no finding of severity error, and every --expect field matches

	token    *idtoken.Token
	now      time.Time
	expected bool
}

type tokenView struct {
	Issuer    string         `json:"issuer"`
	Audience  []string       `json:"audience"`
	Subject   string         `json:"subject"`
	IssuedAt  string         `json:"issued_at,omitempty"`
	NotBefore string         `json:"not_before,omitempty"`
	ExpiresAt string         `json:"expires_at"`
	ExpiresIn int64          `json:"expires_in"` // seconds from now; negative once expired
	Claims    map[string]any `json:"claims"`     // every claim of the payload
}

type expectView struct {
	Field   string `json:"field"` // the Hub form's word
	Claim   string `json:"claim"` // the claim it is compared with
	Want    string `json:"want"`  // configured on the Hub
	Got     string `json:"got"`   // from the token, as compared
	Present bool   `json:"present"`
	Match   bool   `json:"match"`
}

func newClaimsReport(in diag.Input, want map[string]string) *claimsReport {
	r := &claimsReport{
		Provider: in.Provider,
		Shape:    diag.ShapeOf(in.Token, in.Provider),
		Findings: diag.Analyze(in),
		token:    in.Token,
		now:      in.Now,
		expected: want != nil,
	}
	if r.Findings == nil {
		r.Findings = []diag.Finding{}
	}
	worst, any := diag.Worst(r.Findings)
	r.OK = !any || worst < diag.Error
	if t := in.Token; t != nil {
		r.Token = &tokenView{
			Issuer:    t.Issuer,
			Audience:  t.Audience,
			Subject:   t.Subject,
			ExpiresAt: diag.Timestamp(t.Expiry),
			ExpiresIn: int64(t.Expiry.Sub(in.Now).Round(time.Second) / time.Second),
			Claims:    t.Claims,
		}
		if !t.IssuedAt.IsZero() {
			r.Token.IssuedAt = diag.Timestamp(t.IssuedAt)
		}
		if !t.NotBefore.IsZero() {
			r.Token.NotBefore = diag.Timestamp(t.NotBefore)
		}
		form := diag.HubForm(t, r.Shape)
		r.Form = &form
		for _, f := range diag.Expect(t.Claims, want) {
			r.Expect = append(r.Expect, expectView{Field: f.Name, Claim: f.Claim, Want: f.Want, Got: f.Got, Present: f.Present, Match: f.OK})
			r.OK = r.OK && f.OK
		}
	} else if r.expected {
		r.OK = false
	}
	return r
}

func (r *claimsReport) writeText(w io.Writer) {
	var b strings.Builder
	fill(&b, "hf-oidc claims: ", "", r.verdict())
	t := r.token
	if t != nil {
		fmt.Fprintf(&b, "\nThe ID token%s, with %s claims (never the token itself):\n", r.providerPhrase(), r.Shape.Title())
		rows := [][2]string{
			{"issuer", diag.Display(t.Issuer)},
			{"audience", diag.Display(strings.Join(t.Audience, ", "))},
			{"subject", diag.Display(t.Subject)},
		}
		if !t.IssuedAt.IsZero() {
			rows = append(rows, [2]string{"issued", diag.Timestamp(t.IssuedAt) + " (" + relative(t.IssuedAt, r.now) + ")"})
		}
		if !t.NotBefore.IsZero() && !t.NotBefore.Equal(t.IssuedAt) {
			rows = append(rows, [2]string{"not before", diag.Timestamp(t.NotBefore) + " (" + relative(t.NotBefore, r.now) + ")"})
		}
		rows = append(rows, [2]string{"expires", diag.Timestamp(t.Expiry) + " (" + relative(t.Expiry, r.now) + ")"})
		writeRows(&b, "  ", rows)

		if cs := diag.KeyClaims(t, r.Shape); len(cs) > 0 {
			fmt.Fprintf(&b, "\nClaims that publishers match on:\n")
			rows = rows[:0]
			for _, c := range cs {
				rows = append(rows, [2]string{c.Name, c.Value})
			}
			writeRows(&b, "  ", rows)
		}

		b.WriteString("\n")
		b.WriteString("To trust this job, enter on the Hub (Settings → Trusted Publishers; for a username, CI/CD Access):\n")
		rows = [][2]string{{"provider", r.Form.Provider}, {"issuer", diag.Display(r.Form.Issuer)}}
		for _, f := range r.Form.Fields {
			v := diag.Display(f.Value)
			if f.Optional {
				v += "   (optional)"
			}
			rows = append(rows, [2]string{f.Name, v})
		}
		writeRows(&b, "  ", rows)
	}

	if len(r.Findings) > 0 {
		fmt.Fprintf(&b, "\nProblems (%d):\n", len(r.Findings))
		for _, f := range r.Findings {
			fill(&b, "  "+f.Severity.String()+": ", "    ", fullStop(f.Problem))
			writeNext(&b, "    ", f.Fix, f.Snippet, f.Anchor)
		}
	}

	if r.expected {
		fmt.Fprintf(&b, "\nDry run of the Hub's matching (--expect):\n")
		if t == nil {
			fmt.Fprintf(&b, "  nothing to compare: there is no ID token.\n")
		} else {
			r.writeExpect(&b)
		}
	}
	io.WriteString(w, b.String())
}

// verdict is the report in one sentence, its first line: what the Hub
// would make of the token, and how many problems and mismatches say so.
func (r *claimsReport) verdict() string {
	counts := map[diag.Severity]int{}
	for _, f := range r.Findings {
		counts[f.Severity]++
	}
	bad := 0
	for _, e := range r.Expect {
		if !e.Match {
			bad++
		}
	}
	var why []string
	if n := counts[diag.Error]; n > 0 {
		why = append(why, count(n, "error"))
	}
	if bad > 0 {
		why = append(why, mismatches(bad, len(r.Expect)))
	}
	var also []string
	for _, s := range []diag.Severity{diag.Warning, diag.Note} {
		if n := counts[s]; n > 0 {
			also = append(also, count(n, s.String()))
		}
	}
	var v string
	switch {
	case r.token == nil:
		v = "no ID token" + r.providerPhrase()
	case !r.OK:
		v = "the Hub would refuse the ID token" + r.providerPhrase()
	case len(r.Expect) > 0:
		v = fmt.Sprintf("the ID token%s passes the checks that can be run from here, and %s the publisher's", r.providerPhrase(), matching(len(r.Expect)))
	default:
		v = "the ID token" + r.providerPhrase() + " passes the checks that can be run from here"
	}
	if all := append(why, also...); len(all) > 0 {
		v += " (" + strings.Join(all, "; ") + ")"
	}
	return v + "."
}

// count is "1 error", "2 errors".
func count(n int, noun string) string {
	return fmt.Sprintf("%d %s%s", n, noun, plural(n))
}

// mismatches is "1 of 1 field does not match", "2 of 3 fields do not match".
func mismatches(bad, total int) string {
	if bad == 1 {
		return fmt.Sprintf("1 of %d field%s does not match", total, plural(total))
	}
	return fmt.Sprintf("%d of %d fields do not match", bad, total)
}

// matching is "the 1 field matches", "all 3 fields match".
func matching(n int) string {
	if n == 1 {
		return "the 1 field matches"
	}
	return fmt.Sprintf("all %d fields match", n)
}

func (r *claimsReport) providerPhrase() string {
	if r.Provider == "" {
		return ""
	}
	return " from the " + r.Provider + " provider"
}

func (r *claimsReport) writeExpect(b *strings.Builder) {
	width := 0
	for _, e := range r.Expect {
		width = max(width, len(diag.Display(e.Field)))
	}
	bad := 0
	for _, e := range r.Expect {
		verdict := "match   "
		if !e.Match {
			verdict, bad = "MISMATCH", bad+1
		}
		fmt.Fprintf(b, "  %-*s  %s  Hub: %s  token: %s\n", width, diag.Display(e.Field), verdict, diag.Display(e.Want), r.tokenValue(e))
	}
	if bad == 0 {
		fill(b, "", "", fmt.Sprintf("%s: the Hub's claim check would pass for a publisher with this issuer.", sentence(matching(len(r.Expect)))))
		return
	}
	fill(b, "", "", sentence(mismatches(bad, len(r.Expect)))+": the Hub would refuse this token with invalid_grant.")
	writeNext(b, "", diag.ExpectNext(), nil, diag.AnchorExpectMismatch)
}

// tokenValue is the token's side of a compared field: the value compared,
// and the claim it was derived from when that differs.
func (r *claimsReport) tokenValue(e expectView) string {
	if !e.Present {
		return "(no " + diag.Display(e.Claim) + " claim)"
	}
	got := diag.Display(e.Got)
	raw, _ := hubmatch.Stringify(r.token.Claims[e.Claim])
	switch {
	case raw != e.Got:
		return got + " (from " + diag.Display(e.Claim) + " " + diag.Display(raw) + ")"
	case e.Claim != e.Field:
		return got + " (" + diag.Display(e.Claim) + ")"
	}
	return got
}
