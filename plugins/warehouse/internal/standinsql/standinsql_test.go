package standinsql

import "testing"

func TestCallsRewritesNestedArguments(t *testing.T) {
	sql := Rewrite([]Piece{
		{"SELECT DATE_DIFF(", true}, {"DATE '2024-06-30'", false},
		{", MAX(CASE WHEN x THEN DATE_DIFF(a, b, DAY) END), DAY) AS d FROM t WHERE s = ", true},
		{"'DATE_DIFF(a, b, DAY)'", false},
	}, func(s string) string {
		return Calls(s, "DATE_DIFF", func(a []string) string {
			return "date_diff('" + a[2] + "', " + a[1] + ", " + a[0] + ")"
		})
	})
	want := "SELECT date_diff('DAY', MAX(CASE WHEN x THEN date_diff('DAY', b, a) END), DATE '2024-06-30') AS d FROM t WHERE s = 'DATE_DIFF(a, b, DAY)'"
	if sql != want {
		t.Fatalf("got  %s\nwant %s", sql, want)
	}
}
