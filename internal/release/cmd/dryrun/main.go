// Command dryrun does everything the release workflow does but publish,
// offline, into a directory, and fails unless each package comes out the
// same twice:
//
//   - the archives, built twice (or taken from -archives, which the
//     release build has verified) and checksums.txt;
//   - the pipe's image for linux/amd64 and linux/arm64, an OCI image layout
//     made twice from the archives' binaries (not a build of its own) and
//     the pinned CA bundle, then loaded into podman, checked and run;
//   - the orb, packed twice by the circleci CLI and checked against the orb
//     schema (`circleci orb validate` needs CircleCI's API);
//   - the GitLab include's integrity value;
//   - packages.txt, what the release publishes besides the archives.
//
// go run ./internal/release/cmd/dryrun -out DIR          # any tree (.ci/run)
// go run ./internal/release/cmd/dryrun -record           # at release time: writes .release/packages.txt, pins the READMEs
// go run ./internal/release/cmd/dryrun -verify -archives dist -out dist/packages   # the release workflow
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/hf-oidc/hf-oidc/internal/release"
)

const usage = `Usage: go run ./internal/release/cmd/dryrun [flags]

Does everything the release workflow does except publishing, offline, and
fails unless every package comes out the same twice. Writes the archives,
checksums.txt, the pipe's image (an OCI image layout in pipe-image/), the
packed orb (orb.yml) and packages.txt to the output directory.

Flags:
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return release.ExitStatus("release dry run", realMain(ctx, args, stdout), stderr)
}

type options struct {
	out, archives, releaseDir, version, commit, circleci, podman string
	verify, record                                               bool
}

func realMain(ctx context.Context, args []string, stdout io.Writer) error {
	var o options
	fs := flag.NewFlagSet("dryrun", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() { fmt.Fprint(stdout, usage); fs.PrintDefaults() }
	fs.StringVar(&o.out, "out", "", "`dir` to write everything to (default: a new temporary directory)")
	fs.StringVar(&o.archives, "archives", "", "`dir` holding the archives and checksums.txt the release build wrote and verified: use them instead of building")
	fs.StringVar(&o.releaseDir, "release-dir", ".release", "the committed trust root's `dir`")
	fs.StringVar(&o.version, "version", "", "the `tag` to stamp (default: the committed VERSION with -verify or -record, else v0.0.0-dryrun)")
	fs.StringVar(&o.commit, "commit", "", "the `commit` to stamp (default: the source commit with -verify or -record, else HEAD)")
	fs.StringVar(&o.circleci, "circleci", "circleci", "the circleci CLI `command`")
	fs.StringVar(&o.podman, "podman", "podman", "the podman `command` that loads and runs the image; \"none\" skips that")
	fs.BoolVar(&o.verify, "verify", false, "fail unless the archives match the committed checksums and the packages the committed packages.txt")
	fs.BoolVar(&o.record, "record", false, "at release time: write the packages to the release directory's packages.txt and pin them in the READMEs")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return release.Usage(err)
	}
	if fs.NArg() > 0 {
		return release.Usage(fmt.Errorf("unexpected argument %q: the dry run takes only flags", fs.Arg(0)))
	}
	if o.verify && o.record {
		return release.Usage(errors.New("-verify and -record: choose one (record at release time, verify on the tag)"))
	}
	if _, err := os.Stat(filepath.Join("cmd", "hf-oidc")); err != nil {
		return release.Usage(errors.New("run it from the module root, where cmd/hf-oidc is"))
	}
	committed := o.verify || o.record
	var sums release.Checksums
	if committed {
		v, err := readLine(filepath.Join(o.releaseDir, "VERSION"))
		if err != nil {
			return fmt.Errorf("reading the committed version (run the release build first): %w", err)
		}
		if o.version != "" && o.version != v {
			return fmt.Errorf("the version is %s but %s/VERSION says %s", o.version, o.releaseDir, v)
		}
		o.version = v
		data, err := os.ReadFile(filepath.Join(o.releaseDir, "checksums.txt"))
		if err != nil {
			return fmt.Errorf("reading the committed checksums: %w", err)
		}
		if sums, err = release.ParseChecksums(data); err != nil {
			return err
		}
	}
	if o.version == "" {
		o.version = "v0.0.0-dryrun"
	}
	if err := release.CheckVersion(o.version); err != nil {
		return release.Usage(fmt.Errorf("-version: %w", err))
	}
	if o.out == "" {
		var err error
		if o.out, err = os.MkdirTemp("", "hf-oidc-dryrun-"); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	if o.commit == "" {
		var err error
		if committed {
			o.commit, err = release.SourceCommit(ctx, o.releaseDir, o.out, o.archives)
		} else {
			o.commit, err = head(ctx)
		}
		if err != nil {
			return err
		}
	}

	fmt.Fprintf(stdout, "release dry run of hf-oidc %s (commit %s) into %s\n", o.version, o.commit, o.out)
	assets, err := archives(ctx, o, sums, stdout)
	if err != nil {
		return err
	}
	p := release.Packages{Version: o.version}
	if p.PipeImage, p.CABundle, err = pipeImage(ctx, o, assets, stdout); err != nil {
		return err
	}
	if p.Orb, err = orb(ctx, o, stdout); err != nil {
		return err
	}
	include, err := os.ReadFile(release.GitLabInclude)
	if err != nil {
		return err
	}
	p.GitLabInclude = release.Integrity(include)
	fmt.Fprintf(stdout, "gitlab: %s at %s has integrity %s\n", release.GitLabInclude, o.version, p.GitLabInclude)
	if err := os.WriteFile(filepath.Join(o.out, "packages.txt"), p.Format(), 0o644); err != nil {
		return err
	}

	recorded := filepath.Join(o.releaseDir, "packages.txt")
	switch {
	case o.verify:
		data, err := os.ReadFile(recorded)
		if err != nil {
			return fmt.Errorf("reading what the release recorded: %w", err)
		}
		want, err := release.ParsePackages(data)
		if err != nil {
			return fmt.Errorf("%s: %w", recorded, err)
		}
		if diff := want.Diff(p); len(diff) > 0 {
			return fmt.Errorf("the packages differ from those %s records and the READMEs pin:\n  %s\nNext: run the dry run with -record on the tagged commit and commit what it writes", recorded, strings.Join(diff, "\n  "))
		}
		fmt.Fprintf(stdout, "the packages match %s\n", recorded)
		// The action pinned by this commit's SHA installs the release
		// only if its files are the ones recorded.
		tree, err := treeDigest(ctx, o)
		if err != nil {
			return err
		}
		if want, err := readLine(filepath.Join(o.releaseDir, release.TreeFile)); err != nil || want != tree {
			return fmt.Errorf("%s/%s says %q (%v), but the tree's digest is %s: the files changed after the dry run's -record. Next: run it again and commit what it writes", o.releaseDir, release.TreeFile, want, err, tree)
		}
		fmt.Fprintf(stdout, "the tree matches %s/%s\n", o.releaseDir, release.TreeFile)
	case o.record:
		if err := os.WriteFile(recorded, p.Format(), 0o644); err != nil {
			return err
		}
		for _, f := range release.PinnedDocs {
			data, err := os.ReadFile(f)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return err
			}
			if err := os.WriteFile(f, []byte(release.Pin(string(data), &p)), 0o644); err != nil {
				return err
			}
		}
		// Last, once every other file is as it will be committed.
		tree, err := treeDigest(ctx, o)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(o.releaseDir, release.TreeFile), []byte(tree+"\n"), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s and %s, and pinned %s in %s.\nNext: commit them with %s/ (nothing else may change, or the action pinned by the commit's SHA builds from source), tag that commit %s and push the tag.\n", recorded, release.TreeFile, o.version, strings.Join(release.PinnedDocs, ", "), o.releaseDir, o.version)
	}
	fmt.Fprintf(stdout, "dry run done: everything came out the same twice; see %s/packages.txt\n", o.out)
	return nil
}

// archives returns every platform's archive: from -archives, checked
// against the checksums.txt beside them (and the committed ones), or
// built twice and compared.
func archives(ctx context.Context, o options, committed release.Checksums, stdout io.Writer) ([]release.Asset, error) {
	var assets []release.Asset
	if o.archives != "" {
		data, err := os.ReadFile(filepath.Join(o.archives, "checksums.txt"))
		if err != nil {
			return nil, err
		}
		sums, err := release.ParseChecksums(data)
		if err != nil {
			return nil, err
		}
		for _, p := range release.Platforms {
			name := release.AssetName(o.version, p)
			data, err := os.ReadFile(filepath.Join(o.archives, name))
			if err != nil {
				return nil, err
			}
			assets = append(assets, release.Asset{Platform: p, Name: name, Data: data})
		}
		if diff := release.Diff(sums, release.ChecksumsOf(assets)); len(diff) > 0 {
			return nil, fmt.Errorf("the archives in %s differ from their checksums.txt:\n  %s", o.archives, strings.Join(diff, "\n  "))
		}
		fmt.Fprintf(stdout, "archives: %d from %s, matching its checksums.txt\n", len(assets), o.archives)
	} else {
		var toolchain string
		if committed != nil {
			toolchain, _ = readLine(filepath.Join(o.releaseDir, "go-version"))
		}
		var err error
		assets, err = release.Reproduce(ctx, release.Options{Version: o.version, Commit: o.commit, Toolchain: toolchain, Log: stdout})
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(stdout, "archives: %d, built twice, identical\n", len(assets))
	}
	sums := release.ChecksumsOf(assets)
	if committed != nil {
		if diff := release.Diff(committed, sums); len(diff) > 0 {
			return nil, fmt.Errorf("the archives differ from the checksums committed in %s/:\n  %s", o.releaseDir, strings.Join(diff, "\n  "))
		}
		fmt.Fprintf(stdout, "archives: they match the checksums committed in %s/\n", o.releaseDir)
	}
	if o.archives != o.out {
		for _, a := range assets {
			if err := os.WriteFile(filepath.Join(o.out, a.Name), a.Data, 0o644); err != nil {
				return nil, err
			}
		}
		if err := os.WriteFile(filepath.Join(o.out, "checksums.txt"), sums.Format(), 0o644); err != nil {
			return nil, err
		}
	}
	return assets, nil
}

// pipeImage makes the image twice from the archives, compares, writes the
// layout to out/pipe-image, and has podman load and run it.
func pipeImage(ctx context.Context, o options, assets []release.Asset, stdout io.Writer) (digest, ca string, err error) {
	build := func() (release.Image, error) {
		bins := map[release.Platform][]byte{}
		for _, a := range assets {
			for _, p := range release.ImagePlatforms {
				if a.Platform == p {
					if bins[p], err = release.Binary(a); err != nil {
						return release.Image{}, err
					}
				}
			}
		}
		return release.BuildImage(o.version, o.commit, bins, release.CABundle())
	}
	first, err := build()
	if err != nil {
		return "", "", err
	}
	second, err := build()
	if err != nil {
		return "", "", err
	}
	if first.Digest != second.Digest || len(first.Blobs) != len(second.Blobs) {
		return "", "", fmt.Errorf("two builds of the pipe's image differ: %s and %s", first.Digest, second.Digest)
	}
	for d, b := range first.Blobs {
		if !bytes.Equal(b, second.Blobs[d]) {
			return "", "", fmt.Errorf("two builds of the pipe's image differ in blob %s", d)
		}
	}
	dir := filepath.Join(o.out, "pipe-image")
	os.RemoveAll(dir)
	if err := first.WriteLayout(dir); err != nil {
		return "", "", err
	}
	caSum := release.Sum("", release.CABundle()).Digest
	fmt.Fprintf(stdout, "pipe image: built twice, identical: %s@%s (CA bundle sha256 %s)\n", release.ImageRepository, first.Digest, caSum)
	if o.podman != "none" {
		// podman names the image after the layout's path, which must be
		// lowercase: a copy in a directory of our naming.
		tmp, err := os.MkdirTemp("", "hf-oidc-pipe-")
		if err != nil {
			return "", "", err
		}
		defer os.RemoveAll(tmp)
		if err := second.WriteLayout(tmp); err != nil {
			return "", "", err
		}
		if err := checkWithPodman(ctx, o, second, tmp, stdout); err != nil {
			return "", "", err
		}
	}
	return first.Digest, caSum, nil
}

// checkWithPodman loads each platform's image from the layout, as a
// registry client would pull it, checks that podman sees the config this
// dry run wrote, and runs the one for this machine's CPU.
func checkWithPodman(ctx context.Context, o options, im release.Image, dir string, stdout io.Writer) error {
	var index struct {
		Manifests []struct {
			Digest   string `json:"digest"`
			Platform struct {
				Architecture string `json:"architecture"`
			} `json:"platform"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(im.Blobs[im.Digest], &index); err != nil {
		return err
	}
	for _, m := range index.Manifests {
		var manifest struct {
			Config struct {
				Digest string `json:"digest"`
			} `json:"config"`
		}
		if err := json.Unmarshal(im.Blobs[m.Digest], &manifest); err != nil {
			return err
		}
		arch := m.Platform.Architecture
		id, err := podman(ctx, o, "pull", "-q", "--arch", arch, "oci:"+dir+":"+im.Ref)
		if err != nil {
			return err
		}
		defer podman(context.WithoutCancel(ctx), o, "rmi", "-f", id)
		if want := strings.TrimPrefix(manifest.Config.Digest, "sha256:"); id != want {
			return fmt.Errorf("podman loaded the %s image as %s, but its config is %s", arch, id, want)
		}
		if arch != runtime.GOARCH {
			fmt.Fprintf(stdout, "pipe image: podman loaded linux/%s (image %.12s)\n", arch, id)
			continue
		}
		out, err := podman(ctx, o, "run", "--rm", "--network", "none", "--runtime", "runc", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "--entrypoint", "/hf-oidc", id, "version")
		if err != nil {
			return err
		}
		if !strings.Contains(out, o.version) {
			return fmt.Errorf("the %s image's hf-oidc says %q, want version %s", arch, out, o.version)
		}
		fmt.Fprintf(stdout, "pipe image: podman loaded linux/%s (image %.12s) and ran it: %s\n", arch, id, firstLine(out))
	}
	return nil
}

func podman(ctx context.Context, o options, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, o.podman, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("podman %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// orb packs circleci/src twice with the circleci CLI, compares, writes
// out/orb.yml and checks it; it returns the packed orb's SHA-256.
func orb(ctx context.Context, o options, stdout io.Writer) (string, error) {
	pack := func() ([]byte, error) {
		cmd := exec.CommandContext(ctx, o.circleci, "orb", "pack", filepath.Join("circleci", "src"))
		cmd.Env = append(os.Environ(), "CIRCLECI_CLI_SKIP_UPDATE_CHECK=true")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("circleci orb pack: %w\n%s", err, stderr.String())
		}
		return out, nil
	}
	first, err := pack()
	if err != nil {
		return "", err
	}
	second, err := pack()
	if err != nil {
		return "", err
	}
	if !bytes.Equal(first, second) {
		return "", errors.New("two packs of the orb differ")
	}
	if err := os.WriteFile(filepath.Join(o.out, "orb.yml"), first, 0o644); err != nil {
		return "", err
	}
	doc, err := yamlToJSON(ctx, first)
	if err != nil {
		return "", err
	}
	if problems := release.CheckOrb(doc); len(problems) > 0 {
		return "", fmt.Errorf("the packed orb is not valid:\n  %s", strings.Join(problems, "\n  "))
	}
	sum := release.Sum("", first).Digest
	fmt.Fprintf(stdout, "orb: packed twice, identical, valid: hf-oidc/hf-oidc@%s (orb.yml sha256 %s)\n", release.OrbVersion(o.version), sum)
	return sum, nil
}

// yamlToJSON parses YAML with python3's yaml module, as the tests do: the
// module has no YAML parser of its own.
func yamlToJSON(ctx context.Context, text []byte) (any, error) {
	cmd := exec.CommandContext(ctx, "python3", "-c", "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)")
	cmd.Stdin = bytes.NewReader(text)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("parsing the packed orb with python3's yaml (python3-yaml): %w\n%s", err, stderr.String())
	}
	var doc any
	return doc, json.Unmarshal(out, &doc)
}

func treeDigest(ctx context.Context, o options) (string, error) {
	files, err := release.TrackedFiles(ctx, o.releaseDir)
	if err != nil {
		return "", err
	}
	return release.TreeDigest(".", files)
}

func head(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "HEAD").Output()
	if err != nil {
		return "", fmt.Errorf("git rev-parse HEAD: %w (outside a git checkout, pass -commit)", err)
	}
	return strings.TrimSpace(string(out)), nil
}

func readLine(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
