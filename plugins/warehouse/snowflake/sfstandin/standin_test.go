//go:build duckdb_arrow

package sfstandin

import (
	"context"
	gosql "database/sql"
	"database/sql/driver"
	"errors"
	"testing"
	"time"

	sf "github.com/snowflakedb/gosnowflake"
	"github.com/stretchr/testify/require"
)

// The plugin drives the driver's synchronous path; this drives its
// asynchronous one (asyncExec, code 333334, GetQueryStatus), with the
// real driver, so that the stand-in's answers there are proven too.
func TestAsyncQueryAndMonitoring(t *testing.T) {
	s, err := Start(Options{ProgressAfter: 100 * time.Millisecond})
	require.NoError(t, err)
	defer s.Close()
	db := gosql.OpenDB(sf.NewConnector(sf.SnowflakeDriver{}, sf.Config{
		Account: s.Account(), User: "u", Password: "p", Host: s.Host, Port: s.Port, Protocol: "http",
	}))
	defer db.Close()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.PingContext(ctx))

	s.SetQueryDelay(time.Second)
	err = conn.Raw(func(dc any) error {
		rows, err := dc.(driver.QueryerContext).QueryContext(sf.WithAsyncMode(ctx), "SELECT 42 AS answer", nil)
		if err != nil {
			return err
		}
		defer rows.Close()
		qid := rows.(sf.SnowflakeRows).GetQueryID()
		require.NotEmpty(t, qid, "an async query answers with its ID at once")

		// Poll the status until the query is done.
		mon := dc.(sf.SnowflakeConnection)
		require.Eventually(t, func() bool {
			_, err := mon.GetQueryStatus(ctx, qid)
			var se *sf.SnowflakeError
			if errors.As(err, &se) && se.Number == sf.ErrQueryIsRunning {
				return false
			}
			require.NoError(t, err)
			return true
		}, 10*time.Second, 50*time.Millisecond)

		dest := make([]driver.Value, 1)
		require.NoError(t, rows.Next(dest))
		require.EqualValues(t, "42", dest[0])
		return nil
	})
	require.NoError(t, err)
	require.Positive(t, s.Count(RouteMonitor))
	qs := s.Queries()
	require.True(t, qs[len(qs)-1].Async)
	require.Equal(t, "SUCCESS", qs[len(qs)-1].Status)
}

func TestTranslate(t *testing.T) {
	require.Equal(t,
		"SELECT range, 'SEQ8()' FROM range(10) -- TABLE(GENERATOR(ROWCOUNT => 1))",
		translate("SELECT SEQ8(), 'SEQ8()' FROM TABLE(GENERATOR(ROWCOUNT => 10)) -- TABLE(GENERATOR(ROWCOUNT => 1))"))
	require.Equal(t,
		"SELECT MOD(CAST('0x' || (SUBSTR(h, 1, 8)) AS BIGINT), 10)",
		translate("SELECT MOD(TO_NUMBER(SUBSTR(h, 1, 8), 'XXXXXXXX'), 10)"))
}
