package cli

import (
	"strings"
	"unicode/utf8"
)

// lineWidth is where prose is wrapped. A CI log has no terminal width to go
// by, and its viewers, like terminals, show 100 columns without scrolling.
const lineWidth = 100

// fill writes text as one paragraph wrapped at lineWidth: its first line
// after first, the others after indent, each ending in a line break. It
// breaks only at spaces outside `code spans`, so that no command a user
// copies is split; a word longer than a line (a URL) gets a line of its own.
func fill(b *strings.Builder, first, indent, text string) {
	prefix, col := first, utf8.RuneCountInString(first)
	fresh := true // nothing written after prefix yet
	for _, w := range words(text) {
		n := utf8.RuneCountInString(w)
		if !fresh && col+1+n > lineWidth {
			b.WriteByte('\n')
			prefix, col, fresh = indent, utf8.RuneCountInString(indent), true
		}
		if fresh {
			b.WriteString(prefix)
			fresh = false
		} else {
			b.WriteByte(' ')
			col++
		}
		b.WriteString(w)
		col += n
	}
	if fresh {
		b.WriteString(strings.TrimRight(prefix, " "))
	}
	b.WriteByte('\n')
}

// wrapped is fill's paragraph as a string.
func wrapped(first, indent, text string) string {
	var b strings.Builder
	fill(&b, first, indent, text)
	return b.String()
}

// words splits text at white space, keeping whole what a line break must
// not split: a `code span`, a 'quoted command' or "value", and a
// "(see URL)" link.
func words(text string) []string {
	raw := strings.Fields(text)
	out := make([]string, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		w := raw[i]
		if q, ok := opens(w); ok {
			// A quote that no word closes soon is prose, not a span.
			for j := i; j < len(raw) && j < i+maxSpan; j++ {
				if closes(strings.Join(raw[i:j+1], " "), q) {
					w, i = strings.Join(raw[i:j+1], " "), j
					break
				}
			}
		} else if w == "(see" && i+1 < len(raw) {
			i++
			w += " " + raw[i]
		}
		out = append(out, w)
	}
	return out
}

// maxSpan bounds the words of a quoted span: a command, not a paragraph.
const maxSpan = 16

// opens reports whether w starts a quoted span, and its quote: a backtick,
// or a single or double quote that opens a word (an apostrophe never does).
func opens(w string) (byte, bool) {
	w = strings.TrimLeft(w, "(")
	if w == "" || strings.IndexByte("`'\"", w[0]) < 0 {
		return 0, false
	}
	return w[0], true
}

// closes reports whether span, which opens with quote q, is closed: it ends
// with an unescaped q, but for punctuation after it.
func closes(span string, q byte) bool {
	s := strings.TrimLeft(span, "(")[1:]
	s = strings.TrimRight(s, ".,;:!?)…")
	return s != "" && s[len(s)-1] == q && (len(s) < 2 || s[len(s)-2] != '\\')
}
