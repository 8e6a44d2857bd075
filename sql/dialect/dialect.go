package dialect

import (
	"errors"
	"fmt"
	"time"
)

// Dialect renders the parts of a SQL statement that differ between
// warehouses. Implementations are stateless and safe for concurrent use.
type Dialect interface {
	// Name is the dialect's name as used in config and on the command
	// line: "duckdb", "bigquery", "snowflake".
	Name() string

	// QuoteIdent returns name as a delimited identifier that means
	// exactly name, whatever characters it holds.
	QuoteIdent(name string) string
	// Table returns the qualified, quoted name of table name in schema.
	// An empty schema leaves the name unqualified.
	Table(schema, name string) string

	// DateLiteral returns a DATE literal for the calendar date of t in
	// t's location.
	DateLiteral(t time.Time) string
	// StringLiteral returns a string literal whose value is exactly s.
	StringLiteral(s string) string

	// TypeName returns the dialect's name for a column type, for use in
	// CAST(... AS type).
	TypeName(t Type) string
	// DaysBetween returns an integer expression for the number of days
	// from DATE expression start to DATE expression end (end - start).
	DaysBetween(start, end string) string
	// CreateTableAs returns a statement that (re)creates table, an
	// already quoted and qualified name, as the result of query.
	CreateTableAs(table, query string) string
}

// Type is a column type in segflow's logical model, independent of any
// warehouse's type names.
type Type int

// The types segflow's logical model and model outputs use.
const (
	String Type = iota
	Int64
	Float64
	Bool
	Date
	Timestamp
)

func (t Type) String() string {
	switch t {
	case String:
		return "string"
	case Int64:
		return "int64"
	case Float64:
		return "float64"
	case Bool:
		return "bool"
	case Date:
		return "date"
	case Timestamp:
		return "timestamp"
	}
	return fmt.Sprintf("Type(%d)", int(t))
}

// ErrNotYetSupported is returned by Get for a known warehouse whose
// dialect is not implemented yet.
var ErrNotYetSupported = errors.New("dialect not yet supported")

// Names lists the dialect names Get knows, implemented or not.
func Names() []string { return []string{"duckdb", "bigquery", "snowflake"} }

// Get returns the dialect called name.
func Get(name string) (Dialect, error) {
	switch name {
	case "duckdb":
		return DuckDB{}, nil
	case "bigquery", "snowflake":
		return nil, fmt.Errorf("dialect %q: %w (only duckdb is implemented)", name, ErrNotYetSupported)
	}
	return nil, fmt.Errorf("unknown dialect %q (known: duckdb, bigquery, snowflake)", name)
}
