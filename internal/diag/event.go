package diag

import (
	"encoding/json"
	"strings"
)

// maxEvent bounds the GitHub event file read: a pull request's payload is
// tens of kilobytes, and a diagnosis must not read a huge file whole.
const maxEvent = 16 << 20

// forkPullRequest reports whether this GitHub run is for a pull request from
// a fork, which GitHub never gives an ID token, and names the fork and the
// base repository. It reads the event payload at $GITHUB_EVENT_PATH.
func forkPullRequest(in Input) (fork, base string, ok bool) {
	name := in.getenv("GITHUB_EVENT_NAME")
	// pull_request_target runs in the base repository and gets tokens.
	if !strings.HasPrefix(name, "pull_request") || name == "pull_request_target" {
		return "", "", false
	}
	path := in.getenv("GITHUB_EVENT_PATH")
	if path == "" {
		return "", "", false
	}
	b, err := in.readFile(path)
	if err != nil || len(b) > maxEvent {
		return "", "", false
	}
	return ParseForkEvent(b)
}

// ParseForkEvent reads a GitHub pull request event payload and reports
// whether its head repository differs from its base (a fork, or a deleted
// one: the head's repo is then null), with both names.
func ParseForkEvent(payload []byte) (fork, base string, ok bool) {
	var ev struct {
		PullRequest *struct {
			Head struct {
				Repo *struct {
					FullName string `json:"full_name"`
				} `json:"repo"`
			} `json:"head"`
			Base struct {
				Repo *struct {
					FullName string `json:"full_name"`
				} `json:"repo"`
			} `json:"base"`
		} `json:"pull_request"`
	}
	if json.Unmarshal(payload, &ev) != nil || ev.PullRequest == nil || ev.PullRequest.Base.Repo == nil {
		return "", "", false
	}
	base = ev.PullRequest.Base.Repo.FullName
	if base == "" {
		return "", "", false
	}
	head := ev.PullRequest.Head.Repo
	switch {
	case head == nil || head.FullName == "":
		return "(a deleted fork)", base, true
	case head.FullName != base:
		return head.FullName, base, true
	}
	return "", "", false
}
