package release

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"io"
	"testing"
)

var sample = []File{
	{Name: "hf-oidc", Mode: 0o755, Data: bytes.Repeat([]byte("binary "), 1000)},
	{Name: "LICENSE", Mode: 0o644, Data: []byte("license text\n")},
}

func TestArchivesAreReproducible(t *testing.T) {
	t.Parallel()
	for _, p := range []Platform{{"linux", "amd64"}, {"windows", "amd64"}} {
		var a, b bytes.Buffer
		if err := WriteArchive(&a, p, sample); err != nil {
			t.Fatal(err)
		}
		if err := WriteArchive(&b, p, sample); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("%s: two archives of the same files differ", p)
		}
	}
}

func TestTarGz(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := WriteTarGz(&buf, sample); err != nil {
		t.Fatal(err)
	}
	gz, err := gzip.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !gz.ModTime.IsZero() || gz.Name != "" {
		t.Errorf("gzip header has a time or name: %v %q", gz.ModTime, gz.Name)
	}
	tr := tar.NewReader(gz)
	for i, want := range sample {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("member %d: %v", i, err)
		}
		data, _ := io.ReadAll(tr)
		switch {
		case h.Name != want.Name:
			t.Errorf("member %d is %q, want %q", i, h.Name, want.Name)
		case h.FileInfo().Mode().Perm() != want.Mode:
			t.Errorf("%s: mode %v, want %v", h.Name, h.FileInfo().Mode(), want.Mode)
		case h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "":
			t.Errorf("%s: owner %d/%d %q/%q, want root and no names", h.Name, h.Uid, h.Gid, h.Uname, h.Gname)
		case !h.ModTime.Equal(epoch):
			t.Errorf("%s: time %v, want %v", h.Name, h.ModTime, epoch)
		case !bytes.Equal(data, want.Data):
			t.Errorf("%s: content differs", h.Name)
		}
	}
	if _, err := tr.Next(); err != io.EOF {
		t.Errorf("more members than written: %v", err)
	}
}

func TestZip(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := WriteZip(&buf, sample); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != len(sample) {
		t.Fatalf("%d members, want %d", len(zr.File), len(sample))
	}
	for i, f := range zr.File {
		want := sample[i]
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		switch {
		case f.Name != want.Name:
			t.Errorf("member %d is %q, want %q", i, f.Name, want.Name)
		case f.Mode().Perm() != want.Mode:
			t.Errorf("%s: mode %v, want %v", f.Name, f.Mode(), want.Mode)
		case !f.Modified.Equal(epoch):
			t.Errorf("%s: time %v, want %v", f.Name, f.Modified, epoch)
		case !bytes.Equal(data, want.Data):
			t.Errorf("%s: content differs", f.Name)
		}
	}
}
