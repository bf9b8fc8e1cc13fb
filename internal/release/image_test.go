package release

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

func testBinaries() map[Platform][]byte {
	return map[Platform][]byte{
		{"linux", "amd64"}: []byte("amd64 binary"),
		{"linux", "arm64"}: []byte("arm64 binary"),
	}
}

func TestImageIsReproducible(t *testing.T) {
	t.Parallel()
	ca := CABundle()
	a, err := BuildImage("v1.2.3", "abc", testBinaries(), ca)
	if err != nil {
		t.Fatal(err)
	}
	b, err := BuildImage("v1.2.3", "abc", testBinaries(), ca)
	if err != nil {
		t.Fatal(err)
	}
	if a.Digest != b.Digest {
		t.Errorf("two builds of the same image: %s and %s", a.Digest, b.Digest)
	}
	// Whatever goes in changes the digest.
	for name, c := range map[string]struct {
		version, commit string
		ca              []byte
	}{
		"version": {"v1.2.4", "abc", ca},
		"commit":  {"v1.2.3", "abd", ca},
		"CA":      {"v1.2.3", "abc", append(bytes.Clone(ca), '\n')},
	} {
		other, err := BuildImage(c.version, c.commit, testBinaries(), c.ca)
		if err != nil {
			t.Fatal(err)
		}
		if other.Digest == a.Digest {
			t.Errorf("another %s gives the same digest", name)
		}
	}
}

// TestImageLayout walks the layout as a registry client would: index,
// one manifest per platform, its config and layer, each by digest.
func TestImageLayout(t *testing.T) {
	t.Parallel()
	ca := CABundle()
	im, err := BuildImage("v1.2.3", "abc", testBinaries(), ca)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := im.WriteLayout(dir); err != nil {
		t.Fatal(err)
	}
	blob := func(d string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", d[len("sha256:"):]))
		if err != nil {
			t.Fatal(err)
		}
		if digestOf(b) != d {
			t.Fatalf("blob %s holds content of digest %s", d, digestOf(b))
		}
		return b
	}
	var top, index struct {
		MediaType string       `json:"mediaType"`
		Manifests []descriptor `json:"manifests"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	must(t, json.Unmarshal(data, &top))
	if len(top.Manifests) != 1 || top.Manifests[0].Digest != im.Digest || top.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "1.2.3" {
		t.Fatalf("index.json: %s", data)
	}
	must(t, json.Unmarshal(blob(im.Digest), &index))
	if index.MediaType != mediaIndex || len(index.Manifests) != len(ImagePlatforms) {
		t.Fatalf("image index: %+v", index)
	}
	for i, m := range index.Manifests {
		p := ImagePlatforms[i]
		if m.Platform == nil || m.Platform.OS != p.OS || m.Platform.Architecture != p.Arch {
			t.Errorf("manifest %d is for %+v, want %s", i, m.Platform, p)
		}
		var manifest struct {
			Config descriptor   `json:"config"`
			Layers []descriptor `json:"layers"`
		}
		must(t, json.Unmarshal(blob(m.Digest), &manifest))
		var config struct {
			Architecture string `json:"architecture"`
			Config       struct {
				Entrypoint []string          `json:"Entrypoint"`
				Labels     map[string]string `json:"Labels"`
			} `json:"config"`
			RootFS struct {
				DiffIDs []string `json:"diff_ids"`
			} `json:"rootfs"`
		}
		must(t, json.Unmarshal(blob(manifest.Config.Digest), &config))
		if config.Architecture != p.Arch || len(config.Config.Entrypoint) != 2 || config.Config.Entrypoint[1] != "pipe" || config.Config.Labels["org.opencontainers.image.version"] != "v1.2.3" {
			t.Errorf("%s: config %+v", p, config)
		}
		if len(manifest.Layers) != 1 {
			t.Fatalf("%s: %d layers", p, len(manifest.Layers))
		}
		zr, err := gzip.NewReader(bytes.NewReader(blob(manifest.Layers[0].Digest)))
		must(t, err)
		layer, err := io.ReadAll(zr)
		must(t, err)
		if len(config.RootFS.DiffIDs) != 1 || config.RootFS.DiffIDs[0] != digestOf(layer) {
			t.Errorf("%s: diff_ids %v, the layer is %s", p, config.RootFS.DiffIDs, digestOf(layer))
		}
		files := map[string][]byte{}
		tr := tar.NewReader(bytes.NewReader(layer))
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			must(t, err)
			if h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(epoch) {
				t.Errorf("%s: %s owned %d:%d, dated %v", p, h.Name, h.Uid, h.Gid, h.ModTime)
			}
			files[h.Name], _ = io.ReadAll(tr)
		}
		if !bytes.Equal(files["hf-oidc"], testBinaries()[p]) || !bytes.Equal(files["etc/ssl/certs/ca-certificates.crt"], ca) {
			t.Errorf("%s: the layer holds %d files, not the binary and the CA bundle", p, len(files))
		}
	}
}

func TestImageNeedsEveryPlatform(t *testing.T) {
	t.Parallel()
	bins := testBinaries()
	delete(bins, Platform{"linux", "arm64"})
	if _, err := BuildImage("v1.2.3", "abc", bins, CABundle()); err == nil {
		t.Error("an image without its arm64 binary was built")
	}
}

func TestCABundle(t *testing.T) {
	t.Parallel()
	rest := CABundle()
	n := 0
	in := map[string]bool{}
	for len(rest) > 0 {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			t.Fatalf("after %d certificates, the bundle holds no PEM", n)
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			t.Fatalf("certificate %d: %v", n, err)
		}
		in[string(b.Bytes)] = true
		n++
	}
	// NSS has about 150 roots; a handful are constrained and left out.
	if n < 100 {
		t.Errorf("the bundle holds %d certificates", n)
	}
	// A root NSS distrusts after a date would be trusted for good in a
	// PEM file.
	constrained := 0
	for r := range bundle.Roots() {
		if r.Constraint != nil {
			constrained++
			if in[string(r.Certificate)] {
				t.Error("the bundle holds a root NSS trusts only until a date")
			}
		}
	}
	t.Logf("%d roots, %d constrained ones left out", n, constrained)
	if !bytes.Equal(CABundle(), CABundle()) {
		t.Error("two bundles differ")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
