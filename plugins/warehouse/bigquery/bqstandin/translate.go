//go:build duckdb_arrow

package bqstandin

import (
	"github.com/segflow/segflow/plugins/warehouse/internal/standinsql"
	"regexp"
	"strings"
)

// translate rewrites the few BigQuery spellings DuckDB cannot run (see
// the package documentation). It only touches SQL outside string
// literals and comments, and never adds or removes a line break.
func translate(sql string) string {
	var pieces []standinsql.Piece
	for _, seg := range segments(sql) {
		switch {
		case seg.code:
			pieces = append(pieces, standinsql.Piece{Text: translateCode(seg.text), Code: true})
		case strings.HasPrefix(seg.text, "`"):
			pieces = append(pieces, standinsql.Piece{Text: backquoted(seg.text)})
		case strings.HasPrefix(seg.text, "'") && strings.Contains(seg.text, `\`):
			// GoogleSQL escapes with backslashes; DuckDB does so only in
			// E'...' strings, which read the same escapes.
			pieces = append(pieces, standinsql.Piece{Text: "E" + seg.text})
		default:
			pieces = append(pieces, standinsql.Piece{Text: seg.text})
		}
	}
	return standinsql.Rewrite(pieces, func(code string) string {
		// MD5 gives BYTES in BigQuery and hex in DuckDB, so TO_HEX(MD5(x))
		// is DuckDB's md5(x).
		code = standinsql.Calls(code, "TO_HEX", func(a []string) string {
			if len(a) == 1 && strings.HasPrefix(strings.ToUpper(a[0]), "MD5(") {
				return a[0]
			}
			return "TO_HEX(" + strings.Join(a, ", ") + ")"
		})
		// DATE_DIFF(end, start, PART) is DuckDB's date_diff('part', start, end).
		return standinsql.Calls(code, "DATE_DIFF", func(a []string) string {
			if len(a) != 3 {
				return "DATE_DIFF(" + strings.Join(a, ", ") + ")"
			}
			return "date_diff('" + strings.ToLower(a[2]) + "', " + a[1] + ", " + a[0] + ")"
		})
	})
}

var (
	// GENERATE_ARRAY has no DuckDB equivalent; range has the same rows.
	// The alias names both the table and its one column, as BigQuery's
	// UNNEST alias does.
	generateArray = regexp.MustCompile(`(?i)\bUNNEST\s*\(\s*GENERATE_ARRAY\s*\(([^,()]+),([^,()]+)\)\s*\)\s*(?:AS\s+)?([A-Za-z_][A-Za-z0-9_]*)`)
	// Type names, matched as whole words and not followed by "(" so that
	// TIMESTAMP('...') and NUMERIC(10, 2) stay as written.
	typeName = regexp.MustCompile(`(?i)\b(FLOAT64|BIGNUMERIC|NUMERIC|BYTES|DATETIME|TIMESTAMP)\b(\s*\()?`)
)

var typeNames = map[string]string{
	"FLOAT64":    "DOUBLE",
	"NUMERIC":    "DECIMAL(38,9)", // DuckDB's bare NUMERIC is DECIMAL(18,3)
	"BIGNUMERIC": "DECIMAL(38,9)", // DuckDB has no wider decimal
	"BYTES":      "BLOB",
	"DATETIME":   "TIMESTAMP",   // civil time: DuckDB's TIMESTAMP
	"TIMESTAMP":  "TIMESTAMPTZ", // an instant: DuckDB's TIMESTAMPTZ
}

func translateCode(s string) string {
	s = generateArray.ReplaceAllString(s, "range($1, ($2) + 1) AS $3($3)")
	return typeName.ReplaceAllStringFunc(s, func(m string) string {
		if strings.HasSuffix(m, "(") {
			return m
		}
		return typeNames[strings.ToUpper(m)]
	})
}

// backquoted turns `p.d.t` into "p"."d"."t".
func backquoted(s string) string {
	inner := strings.Trim(s, "`")
	parts := strings.Split(inner, ".")
	for i, p := range parts {
		parts[i] = `"` + strings.ReplaceAll(p, `"`, `""`) + `"`
	}
	return strings.Join(parts, ".")
}

type segment struct {
	text string
	code bool // outside literals, quoted names and comments
}

// segments splits sql into code and the pieces translation must not
// touch: '...' and "..." literals (with \ escapes), `names`, -- and #
// line comments and /* */ comments.
func segments(sql string) []segment {
	var segs []segment
	start := 0
	flush := func(end int) {
		if end > start {
			segs = append(segs, segment{text: sql[start:end], code: true})
		}
	}
	for i := 0; i < len(sql); {
		c := sql[i]
		end := -1
		switch {
		case c == '\'' || c == '"' || c == '`':
			end = closing(sql, i, c)
		case c == '#' || (c == '-' && strings.HasPrefix(sql[i:], "--")):
			end = strings.IndexByte(sql[i:], '\n')
			if end < 0 {
				end = len(sql)
			} else {
				end += i
			}
		case c == '/' && strings.HasPrefix(sql[i:], "/*"):
			end = strings.Index(sql[i+2:], "*/")
			if end < 0 {
				end = len(sql)
			} else {
				end += i + 4
			}
		}
		if end < 0 {
			i++
			continue
		}
		flush(i)
		segs = append(segs, segment{text: sql[i:end]})
		start, i = end, end
	}
	flush(len(sql))
	return segs
}

// closing returns the index just past the quote that closes the one at i.
func closing(s string, i int, q byte) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case q:
			return j + 1
		}
	}
	return len(s)
}
