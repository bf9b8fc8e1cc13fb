package diag

import "strings"

// Nearest is the candidate most likely meant by name, for a "did you mean"
// after a command, flag or field name that is not one; "" when none is
// close enough to be a guess worth printing. In that order: a candidate
// equal to name but for case; the closest in edit distance, within a third
// of its length (at least 1, at most 3: "exchang", "--resources"); the
// shortest candidate that begins with name when every other that does
// begins with it too ("git": git-credential, "repo": repository, but "ex"
// stays ambiguous between exec and exchange); the longest candidate that
// name begins with ("execute": exec).
func Nearest(name string, candidates []string) string {
	lower := strings.ToLower(name)
	for _, c := range candidates {
		if strings.ToLower(c) == lower {
			return c
		}
	}
	best, bestD := "", 0
	for _, c := range candidates {
		if d := editDistance(lower, strings.ToLower(c)); best == "" || d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	if best != "" && bestD <= min(max(len(best)/3, 1), 3) {
		return best
	}
	var prefixed []string
	for _, c := range candidates {
		if len(lower) >= 2 && strings.HasPrefix(strings.ToLower(c), lower) {
			prefixed = append(prefixed, c)
		}
	}
	if len(prefixed) > 0 {
		shortest := prefixed[0]
		for _, c := range prefixed {
			if len(c) < len(shortest) {
				shortest = c
			}
		}
		for _, c := range prefixed {
			if !strings.HasPrefix(strings.ToLower(c), strings.ToLower(shortest)) {
				return ""
			}
		}
		return shortest
	}
	longest := ""
	for _, c := range candidates {
		if len(c) >= 3 && len(c) > len(longest) && strings.HasPrefix(lower, strings.ToLower(c)) {
			longest = c
		}
	}
	return longest
}

// editDistance is the Levenshtein distance between a and b in bytes,
// counting an adjacent transposition as one edit (a common typo:
// "exhcange").
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
