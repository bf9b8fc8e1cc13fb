package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/config"
	"github.com/hf-oidc/hf-oidc/internal/diag"
	"github.com/hf-oidc/hf-oidc/internal/exchange"
	"github.com/hf-oidc/hf-oidc/internal/export"
	"github.com/hf-oidc/hf-oidc/internal/gitcred"
	"github.com/hf-oidc/hf-oidc/internal/refresh"
	"github.com/hf-oidc/hf-oidc/internal/resource"
)

const gitCredentialAbout = `A git credential helper for the Hub's host (HF_ENDPOINT's; https only, except
a loopback address). For any other host it answers nothing, so git asks its
other helpers. For the Hub it answers with a token of the resource the
repository path names (with credential.useHttpPath, which --git sets), else a
username resource's (which reads gated repos), else the first resource's.

It takes the token from the token directory when 'hf-oidc refresh' or
'hf-oidc exec' keeps it fresh there for the same job, Hub and ID token, else it
exchanges one itself and keeps it in the directory for the next call. The
default directory is the job's own; a token cached by another job, or for
another Hub, is never handed out. In GitHub Actions each token is masked (on
stderr, which git shows in the step's log) before git gets it. After git
reports the token rejected (erase), the next get exchanges a new one. store
does nothing. The token is written to git on stdout, and nowhere else.

--git on exchange, exec and refresh configures git to use it; by hand:
  git config --global credential.https://huggingface.co.helper \
    '!hf-oidc git-credential --resource acme/model'
  git config --global credential.https://huggingface.co.useHttpPath true`

var gitActions = []string{"get", "store", "erase"}

func runGitCredential(ctx context.Context, env Env, args []string) error {
	// git appends the action to the configured command; a user may put it
	// first.
	var action string
	if len(args) > 0 && slices.Contains(gitActions, args[0]) {
		action, args = args[0], args[1:]
	}
	fs := newFlagSet(env, "git-credential", "[flags] get|store|erase", gitCredentialAbout)
	flags := config.Bind(fs.FlagSet, slices.Concat(config.ExchangeVars, config.FileVars)...)
	fs.notHere("format", "git-credential answers git on stdout in git's own format")
	if err := fs.parse(args); err != nil {
		return err
	}
	rest := fs.Args()
	if action == "" && len(rest) > 0 {
		action, rest = rest[0], rest[1:]
	}
	switch {
	case !slices.Contains(gitActions, action):
		return config.Usagef("expected the action get, store or erase (git gives it), got %q", action)
	case len(rest) > 0:
		return config.Usagef("unexpected argument %q after %s", rest[0], action)
	}
	req, err := gitcred.ReadRequest(env.Stdin)
	if err != nil {
		return err
	}
	// Before anything can fail on configuration: another host's request is
	// none of our business, and must not print errors on every git call.
	raw, src := flags.Value(env.Getenv, "HF_ENDPOINT")
	if raw == "" {
		raw = exchange.DefaultEndpoint
	}
	endpoint, err := exchange.CheckEndpoint(raw)
	if err != nil {
		// Not the value itself: a URL may hold a password, which
		// CheckEndpoint's message leaves out.
		return config.Usagef("%s: %v", src, err)
	}
	if !req.For(endpoint) || action == "store" {
		return nil
	}
	cfg, err := flags.Load(env.Getenv)
	if err != nil {
		return err
	}
	s, err := newSession(cfg, env, nil)
	if err != nil {
		return err
	}
	dir, err := openTokenDir(tokenDir(cfg, s.owner()))
	if err != nil {
		return err
	}
	defer dir.Close()
	r := pickResource(cfg.Resources, gitcred.RepoName(req.Path, endpoint.Path))
	release, err := dir.LockCache()
	if err != nil {
		return err
	}
	defer release()
	if action == "erase" {
		if req.Password != "" {
			if err := dir.Reject(req.Password); err != nil {
				return fmt.Errorf("recording the rejected token: %w", err)
			}
		}
		return nil
	}
	tok, err := helperToken(ctx, env, s, dir, r)
	if err != nil {
		return err
	}
	// git shows our stderr in the step's log, where the runner reads
	// workflow commands: every token handed to git is masked first, a
	// cached one too, which a keeper may have refreshed unseen.
	if err := export.InActions(cfg.Getenv).Mask(env.Stderr, tok.AccessToken); err != nil {
		return err
	}
	return gitcred.Answer{Username: gitUsername(r), Password: tok.AccessToken, Expiry: tok.ExpiresAt}.Write(env.Stdout)
}

// pickResource is the resource whose token opens repo: the one it names,
// else a username resource (its token reads gated repos), else the first.
func pickResource(rs []resource.Resource, repo string) resource.Resource {
	if repo != "" {
		for _, r := range rs {
			if strings.EqualFold(r.Name, repo) {
				return r
			}
		}
		for _, r := range rs {
			if r.Kind == resource.User {
				return r
			}
		}
	}
	return rs[0]
}

// gitUsername is the resource's namespace: the Hub takes any username with
// a token, and this one says in logs whose token it was.
func gitUsername(r resource.Resource) string {
	parts := strings.Split(r.Name, "/")
	switch r.Kind {
	case resource.User:
		return r.Name
	case resource.Model:
		return parts[0]
	default:
		return parts[1]
	}
}

// helperToken is a token for r: the directory's while it is fresh, was
// obtained for this job, Hub and ID token (s's owner), and git has not
// rejected it; else a new one, which goes into the directory unless a
// keeper owns it.
func helperToken(ctx context.Context, env Env, s *session, dir *refresh.Dir, r resource.Resource) (exchange.Token, error) {
	rs := []resource.Resource{r}
	owner := s.owner()
	src := &refresh.Source{
		Resources: rs,
		Margin:    s.cfg.RefreshMargin,
		Now:       env.Now,
		Exchange: func(ctx context.Context, rs []resource.Resource) ([]exchange.Result, error) {
			// Only the resource git asked for: the helper keeps only its
			// token, so the others' would be minted for nothing, and each
			// helper after this one would mint them again.
			results, err := s.exchange(ctx, rs)
			if err != nil && results != nil {
				printFailure(env, false, s, results, false)
				return results, &reportedError{err: err}
			}
			return results, err
		},
	}
	for _, t := range dir.Load(rs, owner) {
		if !dir.Rejected(t.AccessToken) {
			src.Seed(t)
		}
	}
	before := src.Tokens()
	tok, err := src.Token(ctx, r.Name)
	if err != nil {
		return exchange.Token{}, err
	}
	if len(before) == 1 && before[0].AccessToken == tok.AccessToken {
		return tok, nil
	}
	// An owner that names no job and no token could be any job: what it
	// caches could serve no one.
	if _, kept := dir.Holder(); !kept && owner.Known() {
		if err := cacheToken(dir, owner, r, tok, env.Now()); err != nil {
			message{level: "warning", cmd: "git-credential", title: "caching the token failed", problem: err.Error(),
				next:   "Nothing to do for this git command, which got its token; the next one exchanges again. Fix what the reason says (the token directory's permissions, free space) to have tokens reused.",
				anchor: diag.AnchorLocalFailure}.emit(env, s.cfg.Getenv, false)
		}
	}
	return tok, nil
}

// cacheToken writes tok to r's file and its expiry to the status, for the
// next call of the same owner.
func cacheToken(dir *refresh.Dir, owner refresh.Owner, r resource.Resource, tok exchange.Token, now time.Time) error {
	if err := dir.WriteToken(r.Name, tok.AccessToken); err != nil {
		return fmt.Errorf("caching the token: %w", err)
	}
	st, err := dir.ReadStatus()
	if err != nil || !st.OwnedBy(owner) {
		// Another owner's list would vouch for files this one did not
		// write.
		st = &refresh.Status{Endpoint: owner.Endpoint}
		st.SetOwner(owner)
	}
	// No keeper holds the directory (see the caller): what a stopped one
	// wrote of the other files still holds.
	st.State, st.PID, st.NextRefresh, st.LastRefresh = refresh.StateCache, 0, time.Time{}, now
	ts := refresh.TokenStatus{Resource: r.Name, Env: r.Env, File: dir.File(r.Name), ExpiresAt: tok.ExpiresAt}
	i := slices.IndexFunc(st.Tokens, func(t refresh.TokenStatus) bool { return t.Resource == r.Name })
	if i >= 0 {
		st.Tokens[i] = ts
	} else {
		st.Tokens = append(st.Tokens, ts)
	}
	if err := dir.WriteStatus(st); err != nil {
		return fmt.Errorf("caching the token: %w", err)
	}
	return nil
}
