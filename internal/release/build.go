package release

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// cliPackage is where the version and commit that `hf-oidc version` prints
// are stamped.
const cliPackage = "github.com/hf-oidc/hf-oidc/internal/cli"

// Options say what Build builds.
type Options struct {
	Dir       string     // the module root; default "."
	Version   string     // stamped into the binary and named in the assets
	Commit    string     // stamped into the binary
	Platforms []Platform // default Platforms
	Go        string     // the go command; default "go"
	Env       []string   // the environment go runs in; default os.Environ()
	// Toolchain is GOTOOLCHAIN for the builds ("go1.26.8"), so that a
	// rebuild uses the compiler the committed checksums were made with;
	// "" leaves the environment's.
	Toolchain string
	Log       io.Writer // one line per platform built; nil: none
}

// An Asset is one release archive.
type Asset struct {
	Platform Platform
	Name     string
	Data     []byte
}

// ChecksumsOf returns the checksums of assets.
func ChecksumsOf(assets []Asset) Checksums {
	c := make(Checksums, len(assets))
	for i, a := range assets {
		c[i] = Sum(a.Name, a.Data)
	}
	return c
}

var commitPattern = regexp.MustCompile(`^[0-9A-Za-z._-]{1,64}$`)

// buildEnv is the environment of every go build: whatever the caller's
// environment says, the settings that change the output are fixed here.
func (o Options) buildEnv(p Platform) []string {
	fixed := map[string]string{
		"CGO_ENABLED":  "0",
		"GOOS":         p.OS,
		"GOARCH":       p.Arch,
		"GOFLAGS":      "-mod=readonly",
		"GOAMD64":      "v1",
		"GOARM64":      "v8.0",
		"GOEXPERIMENT": "",
		"GOWORK":       "off",
	}
	if o.Toolchain != "" {
		fixed["GOTOOLCHAIN"] = o.Toolchain
	}
	base := o.Env
	if base == nil {
		base = os.Environ()
	}
	env := make([]string, 0, len(base)+len(fixed))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := fixed[k]; !ok {
			env = append(env, kv)
		}
	}
	for k, v := range fixed {
		env = append(env, k+"="+v)
	}
	return env
}

func (o Options) withDefaults() (Options, error) {
	if o.Dir == "" {
		o.Dir = "."
	}
	if o.Go == "" {
		o.Go = "go"
	}
	if o.Platforms == nil {
		o.Platforms = Platforms
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if err := CheckVersion(o.Version); err != nil {
		return o, err
	}
	if !commitPattern.MatchString(o.Commit) {
		return o, fmt.Errorf("commit %q: expected a commit hash", o.Commit)
	}
	return o, nil
}

// GoVersion returns the version of the go command the builds use, as
// `go env GOVERSION` prints it.
func GoVersion(ctx context.Context, o Options) (string, error) {
	o, _ = o.withDefaults()
	cmd := exec.CommandContext(ctx, o.Go, "env", "GOVERSION")
	cmd.Dir = o.Dir
	cmd.Env = o.buildEnv(Platform{})
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("asking go for its version: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// Build compiles hf-oidc for each platform (CGO_ENABLED=0, -trimpath, no
// VCS stamp, no build ID, the version and commit stamped by -X) and
// archives each binary, with LICENSE when the module has one.
func Build(ctx context.Context, o Options) ([]Asset, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "hf-oidc-build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	var license []byte
	switch b, err := os.ReadFile(filepath.Join(o.Dir, "LICENSE")); {
	case err == nil:
		license = b
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("reading LICENSE: %w", err)
	}
	ldflags := fmt.Sprintf("-s -w -buildid= -X %s.version=%s -X %s.commit=%s", cliPackage, o.Version, cliPackage, o.Commit)

	assets := make([]Asset, 0, len(o.Platforms))
	for _, p := range o.Platforms {
		bin := filepath.Join(tmp, p.OS+"_"+p.Arch, BinaryName(p))
		cmd := exec.CommandContext(ctx, o.Go, "build", "-trimpath", "-buildvcs=false", "-ldflags="+ldflags, "-o", bin, "./cmd/hf-oidc")
		cmd.Dir = o.Dir
		cmd.Env = o.buildEnv(p)
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("building for %s: %w\n%s", p, err, out)
		}
		data, err := os.ReadFile(bin)
		if err != nil {
			return nil, fmt.Errorf("reading the binary for %s: %w", p, err)
		}
		files := []File{{Name: BinaryName(p), Mode: 0o755, Data: data}}
		if license != nil {
			files = append(files, File{Name: "LICENSE", Mode: 0o644, Data: license})
		}
		var buf bytes.Buffer
		if err := WriteArchive(&buf, p, files); err != nil {
			return nil, fmt.Errorf("archiving for %s: %w", p, err)
		}
		a := Asset{Platform: p, Name: AssetName(o.Version, p), Data: buf.Bytes()}
		fmt.Fprintf(o.Log, "built %s (%d bytes)\n", a.Name, len(a.Data))
		assets = append(assets, a)
	}
	return assets, nil
}

// Reproduce builds twice and returns the first build's assets, or an error
// naming every asset whose bytes differ between the two. The second build
// shares the first's compiler cache, so it checks linking and archiving;
// a rebuild on another machine (the release workflow) checks the rest.
func Reproduce(ctx context.Context, o Options) ([]Asset, error) {
	first, err := Build(ctx, o)
	if err != nil {
		return nil, err
	}
	o.Log = nil
	second, err := Build(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("building a second time: %w", err)
	}
	if diff := Diff(ChecksumsOf(first), ChecksumsOf(second)); len(diff) > 0 {
		return nil, fmt.Errorf("two builds of the same source differ, so the release is not reproducible:\n  %s", strings.Join(diff, "\n  "))
	}
	for i := range first {
		if !bytes.Equal(first[i].Data, second[i].Data) {
			return nil, fmt.Errorf("two builds of the same source differ in %s", first[i].Name)
		}
	}
	return first, nil
}
