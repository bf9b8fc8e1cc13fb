package export

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteTokenFile replaces the file at path with one holding just token,
// readable by the owner only. It writes a temporary file in the same
// directory and renames it over path, so that a reader (huggingface_hub
// re-reads the file on every call) sees the old token or the new one, never
// a partial or empty file.
func WriteTokenFile(path, token string) error {
	if token == "" {
		return fmt.Errorf("writing token file %s: refusing to write an empty token", path)
	}
	if err := replace(path, []byte(token)); err != nil {
		return fmt.Errorf("writing token file %s: %w", path, err)
	}
	return nil
}

// WritePrivateFile replaces the file at path with data, readable by the
// owner only, the way WriteTokenFile does: for the files that sit beside
// the tokens (a status file) and are read while they change.
func WritePrivateFile(path string, data []byte) error {
	if err := replace(path, data); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func replace(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = writeSynced(f, data)
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

func writeSynced(f *os.File, data []byte) error {
	// CreateTemp already asks for 0600; Chmod says so on systems whose
	// defaults differ.
	err := f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		// Without the sync a crash right after the rename could leave an
		// empty file under the final name.
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// EnsureDir makes dir, mode 0700, for token files. An existing dir is
// accepted only if it is a real directory (not a symlink) that we own and
// no one else can enter: in a shared temp directory, someone else could
// have made it first, to read the tokens or swap the files.
func EnsureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating token directory: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("checking token directory: %w", err)
	}
	return checkPrivate(dir, fi, os.Getuid())
}

var errNotPrivate = errors.New("token directory is not private")

// checkPrivate is EnsureDir's check of an existing directory, for the
// user uid.
func checkPrivate(dir string, fi fs.FileInfo, uid int) error {
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%w: %s is a symbolic link; give a real directory", errNotPrivate, dir)
	case !fi.IsDir():
		return fmt.Errorf("%w: %s is not a directory", errNotPrivate, dir)
	}
	if owner, ok := fileOwner(fi); ok && owner != uid {
		return fmt.Errorf("%w: %s belongs to user %d, not to us (%d); choose another directory", errNotPrivate, dir, owner, uid)
	}
	if permsMatter && fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %#o, so others can reach the tokens in it; run chmod 700 on it or choose another directory", errNotPrivate, dir, fi.Mode().Perm())
	}
	return nil
}
