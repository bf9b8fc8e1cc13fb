// Command build makes hf-oidc's release: every platform's archive, built
// twice and compared byte for byte, and the checksums the GitHub Action
// verifies downloads against.
//
//	go run ./internal/release/cmd/build -version v1.2.3   # writes .release/: commit it, then tag
//	go run ./internal/release/cmd/build -verify -version v1.2.3 -out dist   # the release workflow
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/hf-oidc/hf-oidc/internal/release"
)

const usage = `Usage: go run ./internal/release/cmd/build -version vX.Y.Z [flags]

Builds hf-oidc for every platform twice and fails unless the two builds are
byte for byte identical. Then, by default, writes the release's trust root
to the release directory (VERSION, checksums.txt, go-version) for you to
commit before tagging; with -verify, fails unless the archives match the
committed checksums (what the release workflow runs on the tag).

Flags:
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: the exit status, what went wrong on stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return release.ExitStatus("release build", realMain(ctx, args, stdout), stderr)
}

func realMain(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() { fmt.Fprint(stdout, usage); fs.PrintDefaults() }
	version := fs.String("version", "", "the release `tag`, v1.2.3 (with -verify: default the committed VERSION)")
	verify := fs.Bool("verify", false, "fail unless the archives match the committed checksums, and write nothing to the release directory")
	out := fs.String("out", "", "`dir` for the archives and checksums.txt (default: a new temporary directory)")
	releaseDir := fs.String("release-dir", ".release", "the committed trust root's `dir`")
	commit := fs.String("commit", "", "the commit to stamp (default: the last commit that changed anything outside the release directory; the tree must be clean)")
	platforms := fs.String("platforms", "all", "comma-separated `os/arch` list")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return release.Usage(err)
	}
	if fs.NArg() > 0 {
		return release.Usage(fmt.Errorf("unexpected argument %q: the build takes only flags", fs.Arg(0)))
	}
	ps, err := release.ParsePlatforms(*platforms)
	if err != nil {
		return release.Usage(fmt.Errorf("-platforms: %w", err))
	}
	if _, err := os.Stat(filepath.Join("cmd", "hf-oidc")); err != nil {
		return release.Usage(errors.New("run it from the module root, where cmd/hf-oidc is"))
	}
	o := release.Options{Platforms: ps, Log: stdout}

	var committed release.Checksums
	if *verify {
		committedVersion, err := readLine(filepath.Join(*releaseDir, "VERSION"))
		if err != nil {
			return fmt.Errorf("reading the committed version: %w", err)
		}
		if *version == "" {
			*version = committedVersion
		}
		if *version != committedVersion {
			return fmt.Errorf("the tag is %s but %s/VERSION says %s: run the release build for %s and commit %s/ before tagging", *version, *releaseDir, committedVersion, *version, *releaseDir)
		}
		data, err := os.ReadFile(filepath.Join(*releaseDir, "checksums.txt"))
		if err != nil {
			return fmt.Errorf("reading the committed checksums: %w", err)
		}
		if committed, err = release.ParseChecksums(data); err != nil {
			return err
		}
		// The compiler is part of what is reproduced: rebuild with the
		// one the checksums were made with (go fetches it if need be).
		if o.Toolchain, err = readLine(filepath.Join(*releaseDir, "go-version")); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if err := release.CheckVersion(*version); err != nil {
		return release.Usage(fmt.Errorf("-version: %w", err))
	}
	o.Version = *version

	if *out == "" {
		if *out, err = os.MkdirTemp("", "hf-oidc-release-"+*version+"-"); err != nil {
			return err
		}
	}
	o.Commit = *commit
	if o.Commit == "" {
		if o.Commit, err = release.SourceCommit(ctx, *releaseDir, *out); err != nil {
			return err
		}
	}
	goVersion, err := release.GoVersion(ctx, o)
	if err != nil {
		return err
	}
	if o.Toolchain != "" && goVersion != o.Toolchain {
		return fmt.Errorf("the committed checksums were made with %s, but GOTOOLCHAIN=%s gives %s", o.Toolchain, o.Toolchain, goVersion)
	}

	fmt.Fprintf(stdout, "building hf-oidc %s (commit %s) with %s for %d platforms, twice\n", o.Version, o.Commit, goVersion, len(ps))
	assets, err := release.Reproduce(ctx, o)
	if err != nil {
		return err
	}
	sums := release.ChecksumsOf(assets)
	if *verify {
		if diff := release.Diff(committed, sums); len(diff) > 0 {
			return fmt.Errorf("the archives differ from the checksums committed in %s/, so this is not the source they were made from:\n  %s\nNext: run the release build on the tagged commit with %s and commit %s/ again", *releaseDir, strings.Join(diff, "\n  "), goVersion, *releaseDir)
		}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	for _, a := range assets {
		if err := writeFile(filepath.Join(*out, a.Name), a.Data); err != nil {
			return err
		}
	}
	if err := writeFile(filepath.Join(*out, "checksums.txt"), sums.Format()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "the two builds are identical; archives and checksums.txt are in %s\n", *out)
	if *verify {
		fmt.Fprintf(stdout, "they match the checksums committed in %s/\n", *releaseDir)
		return nil
	}
	if err := os.MkdirAll(*releaseDir, 0o755); err != nil {
		return err
	}
	for name, data := range map[string][]byte{
		"VERSION":       []byte(o.Version + "\n"),
		"checksums.txt": sums.Format(),
		"go-version":    []byte(goVersion + "\n"),
	} {
		if err := writeFile(filepath.Join(*releaseDir, name), data); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "wrote %s/VERSION, checksums.txt and go-version.\nNext: carry the digests into the packaging (UPDATE_PACKAGING=1 go test ./internal/packagingtest -run TestPackagingUpToDate), record and pin what the release publishes (go run ./internal/release/cmd/dryrun -record), commit %s/ with %s alone, tag that commit %s and push the tag; the release workflow rebuilds, checks and publishes.\n", *releaseDir, *releaseDir, strings.Join(release.PackagingFiles, ", "), o.Version)
	return nil
}

func readLine(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// writeFile replaces path atomically: a rename of a complete file.
func writeFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}
