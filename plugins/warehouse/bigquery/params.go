package bigquery

import (
	"fmt"
	"strings"
	"time"

	"cloud.google.com/go/bigquery"
)

// bind turns core's positional parameters into BigQuery query parameters
// for the statement's ? placeholders.
//
// BigQuery requires every parameter to have a type, and a nil has none:
// a NULL typed INT64 cannot be inserted into a STRING column, nor the
// reverse. So a nil parameter is written into the statement as the
// literal NULL, which BigQuery coerces to whatever type the context
// needs, and the remaining parameters keep their order.
func bind(sql string, params []any) (string, []bigquery.QueryParameter, error) {
	holes := placeholders(sql)
	if len(holes) != len(params) {
		return "", nil, fmt.Errorf("statement has %d ? placeholders but %d parameters were given", len(holes), len(params))
	}
	var out []bigquery.QueryParameter
	var b strings.Builder
	last := 0
	for i, p := range params {
		if p == nil {
			b.WriteString(sql[last:holes[i]])
			b.WriteString("NULL")
			last = holes[i] + 1
			continue
		}
		switch v := p.(type) {
		case int:
			p = int64(v)
		case int32:
			p = int64(v)
		case time.Time:
			p = v.UTC()
		case bool, int64, float64, string:
		default:
			return "", nil, fmt.Errorf("parameter %d: unsupported type %T", i+1, p)
		}
		out = append(out, bigquery.QueryParameter{Value: p})
	}
	b.WriteString(sql[last:])
	return b.String(), out, nil
}

// placeholders finds the byte offsets of the ? placeholders of a GoogleSQL
// statement: those outside string and bytes literals (quoted with ', ",
// or tripled, with \ escapes), `quoted names` and comments (--, #, /* */).
func placeholders(sql string) []int {
	var at []int
	for i := 0; i < len(sql); i++ {
		switch c := sql[i]; {
		case c == '?':
			at = append(at, i)
		case c == '\'' || c == '"':
			q := sql[i : i+1]
			if strings.HasPrefix(sql[i:], strings.Repeat(q, 3)) {
				q = strings.Repeat(q, 3)
			}
			i = skipQuoted(sql, i+len(q), q)
		case c == '`':
			i = skipQuoted(sql, i+1, "`")
		case c == '#' || strings.HasPrefix(sql[i:], "--"):
			if j := strings.IndexByte(sql[i:], '\n'); j >= 0 {
				i += j
			} else {
				i = len(sql)
			}
		case strings.HasPrefix(sql[i:], "/*"):
			if j := strings.Index(sql[i+2:], "*/"); j >= 0 {
				i += j + 3
			} else {
				i = len(sql)
			}
		}
	}
	return at
}

// skipQuoted returns the index of the last byte of the closing quote q,
// starting the search at i.
func skipQuoted(s string, i int, q string) int {
	for ; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if strings.HasPrefix(s[i:], q) {
			return i + len(q) - 1
		}
	}
	return len(s)
}
