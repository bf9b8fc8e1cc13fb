package refresh

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/exchange"
	"github.com/hf-oidc/hf-oidc/internal/export"
	"github.com/hf-oidc/hf-oidc/internal/resource"
)

// The files of a token directory besides the tokens themselves.
const (
	StatusFile   = "status.json"
	LockFile     = "keeper.lock" // held by the process that keeps the tokens fresh; holds its PID
	LogFile      = "keeper.log"  // what a detached keeper says
	rejectedFile = "rejected"    // hashes of tokens git reported as rejected
	cacheLock    = "cache.lock"  // serialises the git helper's own exchanges
	startLock    = "start.lock"  // serialises the starts of a keeper
	tokenSuffix  = ".token"
	maxFile      = 64 << 10 // a status or token file is far smaller
	maxRejected  = 100
)

// A Dir is a private token directory: one file per resource holding just
// its token, and a status file that never holds one.
type Dir struct {
	Path string // absolute
	// f is held open so that the directory's inode cannot be reused while
	// we compare against it: a directory removed and made again could
	// otherwise look like the same one.
	f *os.File
}

// OpenDir makes path (mode 0700) if needed, checks that it is private, and
// remembers which directory it is, so that Gone notices it being removed or
// replaced.
func OpenDir(path string) (*Dir, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("opening token directory %s: %w", path, err)
	}
	if err := export.EnsureDir(abs); err != nil {
		return nil, err
	}
	f, err := os.Open(abs)
	if err != nil {
		return nil, fmt.Errorf("opening token directory: %w", err)
	}
	d := &Dir{Path: abs, f: f}
	if d.Gone() { // swapped between the check and the open
		f.Close()
		return nil, fmt.Errorf("opening token directory %s: it changed while it was opened", abs)
	}
	return d, nil
}

// Close releases the directory; Gone is then always true.
func (d *Dir) Close() error { return d.f.Close() }

// FileName is the name of a resource's token file: the resource with each
// "/" turned into "--", which no Hub name contains, so that users can tell
// which file is whose (acme--model.token, datasets--acme--data.token).
func FileName(name string) string {
	return strings.ReplaceAll(name, "/", "--") + tokenSuffix
}

// File is the path of the token file of the resource named name.
func (d *Dir) File(name string) string { return filepath.Join(d.Path, FileName(name)) }

// WriteToken replaces the token file of the resource named name.
func (d *Dir) WriteToken(name, token string) error {
	return export.WriteTokenFile(d.File(name), token)
}

// Gone reports whether the directory was removed or replaced since
// OpenDir: the signal for a keeper to stop.
func (d *Dir) Gone() bool {
	held, err := d.f.Stat()
	if err != nil {
		return true
	}
	fi, err := os.Lstat(d.Path)
	return err != nil || !os.SameFile(fi, held)
}

// RemoveTokens removes the token files of rs, the status file and the
// rejected list, leaving files it did not write.
func (d *Dir) RemoveTokens(rs []resource.Resource) {
	for _, r := range rs {
		os.Remove(d.File(r.Name))
	}
	os.Remove(filepath.Join(d.Path, StatusFile))
	os.Remove(filepath.Join(d.Path, rejectedFile))
}

// Status is what status.json says: how the keeping goes, and which file
// holds which resource's token until when. It never holds a token.
type Status struct {
	PID              int           `json:"pid,omitempty"`
	State            string        `json:"state"` // StateRunning, StateStopped, StateFailed or StateCache
	Provider         string        `json:"provider,omitempty"`
	Endpoint         string        `json:"endpoint"`
	Job              string        `json:"job,omitempty"`       // Owner.JobKey of the writer
	Owner            string        `json:"owner,omitempty"`     // Owner.Key of the writer
	Resources        []string      `json:"resources,omitempty"` // as configured, R or R=ENV_NAME
	LastRefresh      time.Time     `json:"last_refresh,omitzero"`
	NextRefresh      time.Time     `json:"next_refresh,omitzero"`
	LastError        string        `json:"last_error,omitempty"`
	LastErrorAt      time.Time     `json:"last_error_at,omitzero"`
	Warning          string        `json:"warning,omitempty"`
	IDTokenExpiresAt time.Time     `json:"id_token_expires_at,omitzero"`
	IDTokenRenewable bool          `json:"id_token_renewable"`
	Tokens           []TokenStatus `json:"tokens"`
}

// The states of Status.
const (
	StateRunning = "running" // a keeper refreshes the tokens
	StateStopped = "stopped" // the keeper was told to stop
	StateFailed  = "failed"  // the keeper gave up (see LastError)
	StateCache   = "cache"   // no keeper: the git helper's own cache
)

// TokenStatus is one resource's file and its token's expiry.
type TokenStatus struct {
	Resource  string    `json:"resource"`
	Env       string    `json:"env"`
	File      string    `json:"file"`
	ExpiresAt time.Time `json:"expires_at"`
}

// WriteStatus replaces status.json.
func (d *Dir) WriteStatus(st *Status) error {
	c := *st
	for _, t := range []*time.Time{&c.LastRefresh, &c.NextRefresh, &c.LastErrorAt, &c.IDTokenExpiresAt} {
		*t = utcSeconds(*t)
	}
	c.Tokens = make([]TokenStatus, len(st.Tokens))
	for i, t := range st.Tokens {
		// Rounded down: a token is never thought valid past its expiry.
		t.ExpiresAt = t.ExpiresAt.UTC().Truncate(time.Second)
		c.Tokens[i] = t
	}
	b, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		return fmt.Errorf("writing status: %w", err)
	}
	return export.WritePrivateFile(filepath.Join(d.Path, StatusFile), append(b, '\n'))
}

// ReadStatus reads status.json; the error wraps fs.ErrNotExist when there
// is none.
func (d *Dir) ReadStatus() (*Status, error) {
	b, err := readSmall(filepath.Join(d.Path, StatusFile))
	if err != nil {
		return nil, fmt.Errorf("reading status: %w", err)
	}
	return ParseStatus(b)
}

// ParseStatus parses the contents of status.json.
func ParseStatus(b []byte) (*Status, error) {
	var st Status
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("reading status: %s is not valid: %w", StatusFile, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("reading status: %s holds more than one JSON value", StatusFile)
	}
	return &st, nil
}

// SetOwner records o as the status's owner.
func (st *Status) SetOwner(o Owner) { st.Owner, st.Job = o.Key(), o.JobKey() }

// OwnedBy reports whether o wrote the status: the same job, ID token,
// endpoint and audience. An unknown Owner owns nothing.
func (st *Status) OwnedBy(o Owner) bool { return o.Known() && st.Owner == o.Key() }

// OfJob reports whether o's job wrote the status, whatever its endpoint
// and audience.
func (st *Status) OfJob(o Owner) bool { return o.Known() && st.Job == o.JobKey() }

// Load returns the tokens of rs that the directory holds for o: those whose
// file the status lists with an expiry and that hold a plausible token,
// when o wrote the status. It is how the git helper, or a second start,
// reuses a keeper's work; another owner gets nothing, and asks the Hub.
func (d *Dir) Load(rs []resource.Resource, o Owner) []exchange.Token {
	st, err := d.ReadStatus()
	if err != nil || !st.OwnedBy(o) {
		return nil
	}
	var out []exchange.Token
	for _, r := range rs {
		for _, ts := range st.Tokens {
			if ts.Resource != r.Name || ts.File != d.File(r.Name) || ts.ExpiresAt.IsZero() {
				continue
			}
			tok, err := d.readToken(r.Name)
			if err != nil {
				continue
			}
			out = append(out, exchange.Token{Resource: r.Name, AccessToken: tok, TokenType: "bearer", ExpiresAt: ts.ExpiresAt})
			break
		}
	}
	return out
}

func (d *Dir) readToken(name string) (string, error) {
	b, err := readSmall(d.File(name))
	if err != nil {
		return "", err
	}
	tok := string(b)
	if !plausibleToken(tok) {
		return "", errors.New("the token file does not hold a token")
	}
	return tok, nil
}

// plausibleToken is what a token file written by WriteToken holds: one
// word of printable ASCII.
func plausibleToken(s string) bool {
	if s == "" || len(s) > 8<<10 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// Reject records that git was refused token, so that Rejected makes the
// git helper exchange again instead of offering it twice. Only a hash of
// the token is kept.
func (d *Dir) Reject(token string) error {
	h := hashToken(token)
	list := d.rejected()
	for _, r := range list {
		if r == h {
			return nil
		}
	}
	list = append(list, h)
	if len(list) > maxRejected {
		list = list[len(list)-maxRejected:]
	}
	return export.WritePrivateFile(filepath.Join(d.Path, rejectedFile), []byte(strings.Join(list, "\n")+"\n"))
}

// Rejected reports whether Reject was called with token.
func (d *Dir) Rejected(token string) bool {
	h := hashToken(token)
	for _, r := range d.rejected() {
		if r == h {
			return true
		}
	}
	return false
}

func (d *Dir) rejected() []string {
	b, err := readSmall(filepath.Join(d.Path, rejectedFile))
	if err != nil {
		return nil
	}
	var list []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); len(l) == sha256.Size*2 {
			list = append(list, l)
		}
	}
	return list
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// readSmall reads a file of the directory, refusing one larger than any it
// writes.
func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFile {
		return nil, fmt.Errorf("%s is larger than %d KiB", path, maxFile>>10)
	}
	return b, nil
}

func utcSeconds(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Second)
}
