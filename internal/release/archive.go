package release

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"time"
)

// A File is one member of an archive.
type File struct {
	Name string
	Mode fs.FileMode // permission bits only
	Data []byte
}

// epoch is every member's modification time. Any fixed time makes the
// archives reproducible; this one is after 1980, which zip cannot go below.
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// WriteTarGz writes files as a gzipped tar in the order given, with fixed
// times, owners and modes, so that the same files give the same bytes.
func WriteTarGz(w io.Writer, files []File) error {
	gz, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gz)
	for _, f := range files {
		h := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     f.Name,
			Mode:     int64(f.Mode.Perm()),
			Size:     int64(len(f.Data)),
			ModTime:  epoch,
			Format:   tar.FormatUSTAR,
		}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("writing tar header of %s: %w", f.Name, err)
		}
		if _, err := tw.Write(f.Data); err != nil {
			return fmt.Errorf("writing %s: %w", f.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

// WriteZip writes files as a zip in the order given, with fixed times and
// modes.
func WriteZip(w io.Writer, files []File) error {
	zw := zip.NewWriter(w)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: epoch}
		h.SetMode(f.Mode.Perm())
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return fmt.Errorf("writing zip header of %s: %w", f.Name, err)
		}
		if _, err := fw.Write(f.Data); err != nil {
			return fmt.Errorf("writing %s: %w", f.Name, err)
		}
	}
	return zw.Close()
}

// WriteArchive writes files in the archive format of p: zip for Windows,
// where tar.gz is not at home, else tar.gz.
func WriteArchive(w io.Writer, p Platform, files []File) error {
	if p.OS == "windows" {
		return WriteZip(w, files)
	}
	return WriteTarGz(w, files)
}
