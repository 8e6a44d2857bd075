package state_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/core/state"
	"github.com/segflow/segflow/core/state/statetest"
)

func TestSQLite(t *testing.T) {
	t.Parallel()
	statetest.Run(t, statetest.SQLite)
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	statetest.Run(t, statetest.Postgres)
}

func TestOpenPicksBackend(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "nested", "dir", "state.db")
	s, err := state.Open(t.Context(), path)
	require.NoError(t, err, "creates the file and its directory")
	require.NoError(t, s.Close())

	_, err = state.Open(t.Context(), "postgres://nobody@127.0.0.1:1/x?connect_timeout=1")
	require.ErrorContains(t, err, "PostgreSQL", "a URL means PostgreSQL")
}

func TestSQLiteInMemory(t *testing.T) {
	t.Parallel()
	s, err := state.OpenSQLite(":memory:")
	require.NoError(t, err)
	defer s.Close()
	run, err := s.CreateRun(context.Background(), state.Run{Job: "j", Trigger: state.TriggerCLI})
	require.NoError(t, err)
	runs, err := s.ListRuns(context.Background(), state.RunFilter{})
	require.NoError(t, err)
	require.Equal(t, []state.Run{run}, runs)
}

func TestNewIDSortsByTime(t *testing.T) {
	t.Parallel()
	a := state.NewID(idBase)
	b := state.NewID(idBase.Add(1))
	c := state.NewID(idBase.Add(2e6))
	require.Len(t, a, 26)
	require.NotEqual(t, a, b)
	require.Less(t, a[:10], c[:10])
}

func TestSQLiteUsesWAL(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := state.OpenSQLite(path)
	require.NoError(t, err)
	defer s.Close()
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	var mode string
	require.NoError(t, db.QueryRow("PRAGMA journal_mode").Scan(&mode))
	require.Equal(t, "wal", mode)
	var version int
	require.NoError(t, db.QueryRow("SELECT MAX(version) FROM schema_migrations").Scan(&version))
	require.Equal(t, 2, version, "every migration applied")
}

var idBase = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
