//go:build duckdb_arrow

package bqstandin

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTranslate(t *testing.T) {
	cases := map[string]string{
		"SELECT x FROM `my-project.ds.t`":                                           `SELECT x FROM "my-project"."ds"."t"`,
		"SELECT CAST(x AS FLOAT64), CAST(y AS NUMERIC)":                             "SELECT CAST(x AS DOUBLE), CAST(y AS DECIMAL(38,9))",
		"SELECT TIMESTAMP '2024-01-01', TIMESTAMP('2024-01-01')":                    "SELECT TIMESTAMPTZ '2024-01-01', TIMESTAMP('2024-01-01')",
		"SELECT CAST(d AS DATETIME), TIMESTAMP_TRUNC(t, DAY)":                       "SELECT CAST(d AS TIMESTAMP), TIMESTAMP_TRUNC(t, DAY)",
		"SELECT TO_HEX(MD5(s)), TO_HEX(b)":                                          "SELECT MD5(s), TO_HEX(b)",
		"SELECT 'FLOAT64' -- NUMERIC\n, id FROM UNNEST(GENERATE_ARRAY(0, 9)) AS id": "SELECT 'FLOAT64' -- NUMERIC\n, id FROM range(0, ( 9) + 1) AS id(id)",
	}
	for in, want := range cases {
		require.Equal(t, want, translate(in), in)
	}
}

func TestBigQueryMessage(t *testing.T) {
	msg := "Binder Error: Referenced column \"x\" not found\n\nLINE 2:   x\n          ^"
	require.Equal(t, `Binder Error: Referenced column "x" not found at [2:3]`, bigQueryMessage(msg))
}
