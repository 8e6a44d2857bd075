//go:build duckdb_arrow

package sfstandin

import (
	"regexp"
	"strings"
)

var (
	// GENERATOR has no DuckDB equivalent; range(n) has the same rows.
	generator = regexp.MustCompile(`(?i)\bTABLE\s*\(\s*GENERATOR\s*\(\s*ROWCOUNT\s*=>\s*(\d+)\s*\)\s*\)`)
	// SEQ4()/SEQ8() number GENERATOR's rows; range's one column does.
	seq = regexp.MustCompile(`(?i)\bSEQ[48]\s*\(\s*\)`)
)

// translate rewrites the few Snowflake spellings DuckDB cannot run (see
// the package documentation), outside string literals, quoted names and
// comments, without adding or removing a line break.
func translate(sql string) string {
	var out strings.Builder
	for _, seg := range segments(sql) {
		if seg.code {
			seg.text = generator.ReplaceAllString(seg.text, "range($1)")
			seg.text = seq.ReplaceAllString(seg.text, "range")
		}
		out.WriteString(seg.text)
	}
	return out.String()
}

type segment struct {
	text string
	code bool // outside literals, quoted names and comments
}

// segments splits sql into code and the pieces translation must not
// touch: '...' literals (” or \ escaped), "names", $$...$$ strings, --
// and // line comments and /* */ comments.
func segments(sql string) []segment {
	var segs []segment
	start := 0
	for i := 0; i < len(sql); {
		end := -1
		switch rest := sql[i:]; {
		case rest[0] == '\'' || rest[0] == '"':
			end = closing(sql, i, rest[0])
		case strings.HasPrefix(rest, "$$"):
			end = indexFrom(sql, i+2, "$$", 2)
		case strings.HasPrefix(rest, "--") || strings.HasPrefix(rest, "//"):
			end = indexFrom(sql, i, "\n", 0)
		case strings.HasPrefix(rest, "/*"):
			end = indexFrom(sql, i+2, "*/", 2)
		}
		if end < 0 {
			i++
			continue
		}
		if i > start {
			segs = append(segs, segment{text: sql[start:i], code: true})
		}
		segs = append(segs, segment{text: sql[i:end]})
		start, i = end, end
	}
	if len(sql) > start {
		segs = append(segs, segment{text: sql[start:], code: true})
	}
	return segs
}

// indexFrom returns the index of sep at or after from, plus skip; or the
// end of s.
func indexFrom(s string, from int, sep string, skip int) int {
	if j := strings.Index(s[from:], sep); j >= 0 {
		return from + j + skip
	}
	return len(s)
}

// closing returns the index just past the quote that closes the one at i.
func closing(s string, i int, q byte) int {
	for j := i + 1; j < len(s); j++ {
		switch {
		case s[j] == '\\' && q == '\'':
			j++
		case s[j] == q && j+1 < len(s) && s[j+1] == q:
			j++ // doubled quote
		case s[j] == q:
			return j + 1
		}
	}
	return len(s)
}
