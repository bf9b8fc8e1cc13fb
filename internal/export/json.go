package export

import (
	"encoding/json"
	"fmt"
	"io"
)

// JSON writes {"tokens":[{"resource":…,"env":…,"token":…,"expires_at":…}]}
// on one line, for scripts; "file" is there in file mode.
type JSON struct {
	W io.Writer
}

type jsonToken struct {
	Resource  string `json:"resource"`
	Env       string `json:"env"`
	Token     string `json:"token"`
	ExpiresAt string `json:"expires_at"`
	File      string `json:"file,omitempty"`
}

func (j JSON) Export(entries []Entry) error {
	if len(entries) == 0 {
		return errNoEntries
	}
	out := struct {
		Tokens []jsonToken `json:"tokens"`
	}{Tokens: make([]jsonToken, len(entries))}
	for i, e := range entries {
		out.Tokens[i] = jsonToken{Resource: e.Resource, Env: e.Env, Token: e.Token, ExpiresAt: formatTime(e.ExpiresAt), File: e.File}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return fmt.Errorf("encoding tokens as JSON: %w", err)
	}
	if _, err := j.W.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("writing JSON: %w", err)
	}
	return nil
}
