//go:build duckdb_arrow

package sfstandin

import (
	"github.com/segflow/segflow/plugins/warehouse/internal/standinsql"
	"regexp"
	"strings"
)

var (
	// GENERATOR has no DuckDB equivalent; range(n) has the same rows.
	generator = regexp.MustCompile(`(?i)\bTABLE\s*\(\s*GENERATOR\s*\(\s*ROWCOUNT\s*=>\s*(\d+)\s*\)\s*\)`)
	// SEQ4()/SEQ8() number GENERATOR's rows; range's one column does.
	seq = regexp.MustCompile(`(?i)\bSEQ[48]\s*\(\s*\)`)
	// Snowflake type names DuckDB lacks or reads differently (FLOAT is
	// 64-bit in Snowflake, 32-bit in DuckDB); not when called or given a
	// precision, as in NUMBER(10, 2), which DuckDB does not know either
	// but segflow does not write.
	sfType = regexp.MustCompile(`(?i)\b(NUMBER|FLOAT|TIMESTAMP_NTZ)\b(\s*\()?`)
)

var sfTypes = map[string]string{"NUMBER": "DECIMAL(38,0)", "FLOAT": "DOUBLE", "TIMESTAMP_NTZ": "TIMESTAMP"}

// translate rewrites the few Snowflake spellings DuckDB cannot run (see
// the package documentation), outside string literals, quoted names and
// comments, without adding or removing a line break.
func translate(sql string) string {
	var pieces []standinsql.Piece
	for _, seg := range segments(sql) {
		switch {
		case seg.code:
			seg.text = generator.ReplaceAllString(seg.text, "range($1)")
			seg.text = seq.ReplaceAllString(seg.text, "range")
			seg.text = sfType.ReplaceAllStringFunc(seg.text, func(m string) string {
				if strings.HasSuffix(m, "(") {
					return m
				}
				return sfTypes[strings.ToUpper(m)]
			})
			pieces = append(pieces, standinsql.Piece{Text: seg.text, Code: true})
		case strings.HasPrefix(seg.text, "'") && strings.Contains(seg.text, `\`):
			// Snowflake reads backslash escapes in every string; DuckDB
			// only in E'...' strings.
			pieces = append(pieces, standinsql.Piece{Text: "E" + seg.text})
		default:
			pieces = append(pieces, standinsql.Piece{Text: seg.text})
		}
	}
	return standinsql.Rewrite(pieces, func(code string) string {
		// DATEDIFF(part, start, end): DuckDB wants the part as a string.
		code = standinsql.Calls(code, "DATEDIFF", func(a []string) string {
			if len(a) != 3 {
				return "DATEDIFF(" + strings.Join(a, ", ") + ")"
			}
			return "date_diff('" + strings.ToLower(a[0]) + "', " + a[1] + ", " + a[2] + ")"
		})
		// TO_NUMBER(hex, 'XXXXXXXX') reads hexadecimal, as DuckDB's cast
		// of a '0x' string does; segflow uses no other format.
		code = standinsql.Calls(code, "TO_NUMBER", func(a []string) string {
			if len(a) != 2 {
				return "TO_NUMBER(" + strings.Join(a, ", ") + ")"
			}
			return "CAST('0x' || (" + a[0] + ") AS BIGINT)"
		})
		// DATEADD(part, n, date) is date + n parts.
		return standinsql.Calls(code, "DATEADD", func(a []string) string {
			if len(a) != 3 {
				return "DATEADD(" + strings.Join(a, ", ") + ")"
			}
			return "CAST((" + a[2] + ") + to_" + strings.ToLower(a[0]) + "s(CAST(" + a[1] + " AS INTEGER)) AS DATE)"
		})
	})
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
