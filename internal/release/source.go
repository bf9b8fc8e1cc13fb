package release

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// PackagingFiles are written at release time, after the release build,
// and committed with the release directory: the GitLab template and the
// orb carry the archives' digests (UPDATE_PACKAGING=1 go test
// ./internal/packagingtest), and the READMEs pin what the release
// publishes (the release dry run's -record). They are shell, YAML and
// Markdown, not part of the binary, so like the release directory they
// are not the release's source.
var PackagingFiles = []string{
	"circleci/src/scripts/install.sh",
	GitLabInclude,
	"README.md",
	"bitbucket/README.md",
	"circleci/README.md",
	"gitlab/README.md",
}

// SourceCommit is the last commit that changed anything but the release
// directory and PackagingFiles: the commit the release is built from,
// which stays the same when those are committed on top of it. Anything
// uncommitted would make the binary differ from that commit, so it is an
// error. The outputs (outs) inside the tree are left out too.
func SourceCommit(ctx context.Context, releaseDir string, outs ...string) (string, error) {
	spec := []string{"--", ".", ":(exclude)" + filepath.ToSlash(releaseDir)}
	for _, f := range PackagingFiles {
		spec = append(spec, ":(exclude)"+f)
	}
	for _, out := range outs {
		if rel, err := filepath.Rel(".", out); out != "" && err == nil && !filepath.IsAbs(rel) && !strings.HasPrefix(rel, "..") {
			spec = append(spec, ":(exclude)"+filepath.ToSlash(rel))
		}
	}
	status, err := git(ctx, append([]string{"status", "--porcelain", "--untracked-files=all"}, spec...)...)
	if err != nil {
		return "", fmt.Errorf("checking that the tree is clean: %w", err)
	}
	if status != "" {
		lines := strings.Split(status, "\n")
		if len(lines) > 5 {
			lines = append(lines[:5], "…")
		}
		return "", fmt.Errorf("the tree has changes outside %s/, so the binary would not be the commit's:\n  %s\nNext: commit or remove them (or pass -commit for a dry run)", releaseDir, strings.Join(lines, "\n  "))
	}
	commit, err := git(ctx, append([]string{"log", "-1", "--format=%H"}, spec...)...)
	if err != nil {
		return "", fmt.Errorf("finding the source commit: %w", err)
	}
	if commit == "" {
		return "", errors.New("finding the source commit: git log found none (a shallow clone? fetch the whole history)")
	}
	return commit, nil
}

func git(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}
