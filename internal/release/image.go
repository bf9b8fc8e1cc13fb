package release

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// The pipe's image is written here as an OCI image layout, not built by
// podman or docker: a FROM-scratch image of two files is a tar, three JSON
// documents and their digests, and writing them with the Go the release is
// pinned to gives the same bytes on every machine. A builder's output also
// carries its own version (labels, history) and compresses layers when it
// pushes, so a digest written down at release time could not be rebuilt on
// the release runner, whose builder differs.

// ImageRepository is where the release publishes the pipe's image.
const ImageRepository = "ghcr.io/hf-oidc/hf-oidc-pipe"

// imageSource is the repository GHCR links the image to (the
// org.opencontainers.image.source label).
const imageSource = "https://github.com/hf-oidc/hf-oidc"

// ImagePlatforms are the platforms of the pipe's image: the CPUs Bitbucket
// Pipelines' runners have.
var ImagePlatforms = []Platform{{"linux", "amd64"}, {"linux", "arm64"}}

const (
	mediaIndex    = "application/vnd.oci.image.index.v1+json"
	mediaManifest = "application/vnd.oci.image.manifest.v1+json"
	mediaConfig   = "application/vnd.oci.image.config.v1+json"
	mediaLayer    = "application/vnd.oci.image.layer.v1.tar+gzip"
)

// An Image is the pipe's multi-platform image: an OCI image index and
// every blob it refers to, by digest.
type Image struct {
	Digest string            // the image index's, "sha256:…": what users pin
	Blobs  map[string][]byte // digest → content, the index included
	Ref    string            // the tag it is published under ("1.2.3")
}

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Platform    *ociPlatform      `json:"platform,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type ociPlatform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
}

// BuildImage makes the pipe's image for version from the linux binaries
// (one per ImagePlatforms, taken from the verified release archives) and
// the CA bundle: the binary at /hf-oidc, run as `hf-oidc pipe`, and the
// bundle where Go looks for it.
func BuildImage(version, commit string, binaries map[Platform][]byte, ca []byte) (Image, error) {
	if err := CheckVersion(version); err != nil {
		return Image{}, err
	}
	im := Image{Blobs: map[string][]byte{}, Ref: version[1:]}
	add := func(mediaType string, data []byte) descriptor {
		d := digestOf(data)
		im.Blobs[d] = data
		return descriptor{MediaType: mediaType, Digest: d, Size: int64(len(data))}
	}
	labels := map[string]string{
		"org.opencontainers.image.source":      imageSource,
		"org.opencontainers.image.version":     version,
		"org.opencontainers.image.revision":    commit,
		"org.opencontainers.image.title":       "hf-oidc pipe",
		"org.opencontainers.image.description": "Bitbucket Pipelines pipe: Hugging Face Hub tokens from the step's OIDC ID token",
	}
	var manifests []descriptor
	for _, p := range ImagePlatforms {
		bin, ok := binaries[p]
		if !ok {
			return Image{}, fmt.Errorf("no %s binary for the pipe's image", p)
		}
		layer, err := imageLayer(bin, ca)
		if err != nil {
			return Image{}, err
		}
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		zw.Write(layer)
		if err := zw.Close(); err != nil {
			return Image{}, err
		}
		created := epoch.Format(time.RFC3339)
		config, err := json.Marshal(map[string]any{
			"created":      created,
			"architecture": p.Arch,
			"os":           p.OS,
			"config": map[string]any{
				"Entrypoint": []string{"/hf-oidc", "pipe"},
				"Labels":     labels,
			},
			"rootfs": map[string]any{"type": "layers", "diff_ids": []string{digestOf(layer)}},
			"history": []map[string]string{{
				"created":    created,
				"created_by": fmt.Sprintf("hf-oidc %s release: /hf-oidc from %s, /etc/ssl/certs/ca-certificates.crt from golang.org/x/crypto/x509roots/fallback", version, AssetName(version, p)),
			}},
		})
		if err != nil {
			return Image{}, err
		}
		manifest, err := json.Marshal(map[string]any{
			"schemaVersion": 2,
			"mediaType":     mediaManifest,
			"config":        add(mediaConfig, config),
			"layers":        []descriptor{add(mediaLayer, gz.Bytes())},
		})
		if err != nil {
			return Image{}, err
		}
		m := add(mediaManifest, manifest)
		m.Platform = &ociPlatform{Architecture: p.Arch, OS: p.OS}
		manifests = append(manifests, m)
	}
	index, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     mediaIndex,
		"manifests":     manifests,
		"annotations":   labels,
	})
	if err != nil {
		return Image{}, err
	}
	im.Digest = add(mediaIndex, index).Digest
	return im, nil
}

// imageLayer is the image's one layer, an uncompressed tar: the CA bundle
// with its directories, then the binary, all owned by root and dated epoch.
func imageLayer(bin, ca []byte) ([]byte, error) {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{
		{"etc/", 0o755, nil},
		{"etc/ssl/", 0o755, nil},
		{"etc/ssl/certs/", 0o755, nil},
		{"etc/ssl/certs/ca-certificates.crt", 0o644, ca},
		{"hf-oidc", 0o755, bin},
	} {
		h := &tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: epoch, Format: tar.FormatPAX}
		if f.data == nil {
			h.Typeflag = tar.TypeDir
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// WriteLayout writes the image as an OCI image layout in dir (made if need
// be), its index tagged im.Ref: what `skopeo copy oci:DIR:REF docker://…`
// pushes as it is, and `podman pull oci:DIR:REF` loads.
func (im Image) WriteLayout(dir string) error {
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return err
	}
	for d, data := range im.Blobs {
		if err := os.WriteFile(filepath.Join(blobs, d[len("sha256:"):]), data, 0o644); err != nil {
			return err
		}
	}
	top, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     mediaIndex,
		"manifests": []descriptor{{
			MediaType:   mediaIndex,
			Digest:      im.Digest,
			Size:        int64(len(im.Blobs[im.Digest])),
			Annotations: map[string]string{"org.opencontainers.image.ref.name": im.Ref},
		}},
	})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "index.json"), top, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
}

// Binary returns the hf-oidc binary inside a linux or macOS release
// archive: the image is made from the archives the release verified, not
// from a build of its own.
func Binary(a Asset) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(a.Data))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", a.Name, err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err != nil {
			return nil, fmt.Errorf("reading %s: no %s in it (%w)", a.Name, BinaryName(a.Platform), err)
		}
		if h.Name == BinaryName(a.Platform) {
			return io.ReadAll(tr)
		}
	}
}
