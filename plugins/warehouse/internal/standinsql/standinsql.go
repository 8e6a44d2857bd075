// Package standinsql holds the SQL rewriting the BigQuery and Snowflake
// stand-ins share: function calls whose arguments DuckDB expects in
// another order or spelling. It is test infrastructure, not a SQL
// translator: it knows only the calls segflow's own SQL makes.
package standinsql

import (
	"fmt"
	"regexp"
	"strings"
)

// Piece is a run of a statement: code, or something rewriting must not
// touch (a literal, a quoted name, a comment).
type Piece struct {
	Text string
	Code bool
}

// Rewrite applies fn to the statement made of pieces with every non-code
// piece masked, so that fn can match calls without tripping over quotes,
// and puts the masked pieces back afterwards.
func Rewrite(pieces []Piece, fn func(string) string) string {
	var masked strings.Builder
	var kept []string
	for _, p := range pieces {
		if p.Code {
			masked.WriteString(p.Text)
			continue
		}
		fmt.Fprintf(&masked, "\x00%d\x00", len(kept))
		kept = append(kept, p.Text)
	}
	out := fn(masked.String())
	return placeholder.ReplaceAllStringFunc(out, func(m string) string {
		var i int
		fmt.Sscanf(m[1:len(m)-1], "%d", &i)
		return kept[i]
	})
}

var placeholder = regexp.MustCompile("\x00[0-9]+\x00")

// Calls rewrites every call of the function name (case-insensitive,
// whole word) in masked SQL: f gets the call's top-level arguments,
// trimmed, and returns the replacement for the whole call. Nested calls
// inside the arguments are rewritten first.
func Calls(sql, name string, f func(args []string) string) string {
	re := regexp.MustCompile(`(?i)\b` + regexp.QuoteMeta(name) + `\s*\(`)
	var out strings.Builder
	for {
		loc := re.FindStringIndex(sql)
		if loc == nil {
			out.WriteString(sql)
			return out.String()
		}
		args, end, ok := splitArgs(sql, loc[1])
		if !ok {
			out.WriteString(sql)
			return out.String()
		}
		for i := range args {
			args[i] = Calls(args[i], name, f)
		}
		out.WriteString(sql[:loc[0]])
		out.WriteString(f(args))
		sql = sql[end:]
	}
}

// splitArgs splits the arguments of a call whose "(" ends at open; it
// returns them and the index just past the closing ")".
func splitArgs(sql string, open int) ([]string, int, bool) {
	depth, start := 0, open
	var args []string
	for i := open; i < len(sql); i++ {
		switch sql[i] {
		case '(':
			depth++
		case ')':
			if depth == 0 {
				args = append(args, strings.TrimSpace(sql[start:i]))
				return args, i + 1, true
			}
			depth--
		case ',':
			if depth == 0 {
				args = append(args, strings.TrimSpace(sql[start:i]))
				start = i + 1
			}
		}
	}
	return nil, 0, false
}
