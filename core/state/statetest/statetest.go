// Package statetest is the behaviour every state.Store backend must have,
// as one suite each backend runs (like river's riverdrivertest), and
// helpers that give tests a fresh SQLite file or PostgreSQL schema.
//
// PostgreSQL tests use SEGFLOW_TEST_POSTGRES_DSN, by default
// postgres://postgres@127.0.0.1:5432/test. When that server does not
// answer they skip, unless the environment variable CI is set: then they
// fail, so CI cannot pass by skipping them.
package statetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/core/state"
)

// Open opens a Store on one test database. Each call opens another Store
// on the same database, as another process would; every Store is closed
// when the test ends.
type Open func(t *testing.T) state.Store

// SQLite gives t a fresh SQLite file.
func SQLite(t *testing.T) Open {
	path := filepath.Join(t.TempDir(), "state.db")
	return func(t *testing.T) state.Store {
		s, err := state.OpenSQLite(path)
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return s
	}
}

// DefaultPostgresDSN is the test server DESIGN §8 promises on the machines.
const DefaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresDSN is the DSN of the test server, or skips t (fails it when
// CI is set) if it does not answer.
func PostgresDSN(t *testing.T) string {
	dsn := os.Getenv("SEGFLOW_TEST_POSTGRES_DSN")
	if dsn == "" {
		dsn = DefaultPostgresDSN
	}
	pgOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, dsn)
		if err == nil {
			err = c.Ping(ctx)
			c.Close(ctx)
		}
		pgErr = err
	})
	if pgErr != nil {
		msg := "PostgreSQL is not reachable at %s (set SEGFLOW_TEST_POSTGRES_DSN to use another): %v"
		if os.Getenv("CI") != "" {
			t.Fatalf(msg, dsn, pgErr)
		}
		t.Skipf(msg, dsn, pgErr)
	}
	return dsn
}

var (
	pgOnce sync.Once
	pgErr  error
)

// Postgres gives t a fresh schema in the test server, dropped when the
// test ends.
func Postgres(t *testing.T) Open {
	dsn := PostgresDSN(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "segflow_state_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() { // runs after the Stores' cleanups close them
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop test schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop test schema %s: %v", schema, err)
		}
	})
	return func(t *testing.T) state.Store {
		s, err := state.OpenPostgres(t.Context(), dsn, state.WithSchema(schema))
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return s
	}
}
