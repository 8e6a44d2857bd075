package zetasql

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/segflow/segflow/sql/zetasql/zetasqlpb"
)

// Column is a column of a catalog table. Type is a ZetaSQL type kind name
// with or without its TYPE_ prefix ("INT64", "DOUBLE", "NUMERIC", "STRING",
// "BOOL", "DATE", "TIMESTAMP", ...; the Snowflake fork adds "VARIANT" and
// "OBJECT"); the BigQuery names "FLOAT64" and "BOOLEAN" are accepted too.
type Column struct {
	Name string
	Type string
}

// Table is a catalog table. Name may be qualified, "dataset.table" or
// "project.dataset.table"; each dot-separated part is one identifier.
type Table struct {
	Name    string
	Columns []Column
}

// AnalysisError is a statement the analyzer rejected: a syntax error, an
// unknown table, column or function, a wrong argument type, ...
type AnalysisError struct {
	SQL     string // the statement analysed
	Message string // the analyzer's message, without its location
	Line    int    // 1-based position of the error in SQL; 0 if unknown
	Column  int
}

func (e *AnalysisError) Error() string {
	if e.Line == 0 {
		return "zetasql: " + e.Message
	}
	return fmt.Sprintf("zetasql: %d:%d: %s", e.Line, e.Column, e.Message)
}

// Analyze analyses one statement against a catalog holding tables and the
// analyzer's builtin functions. It returns an *AnalysisError if the analyzer
// rejects the statement, and other errors if it could not ask.
func (a *Analyzer) Analyze(ctx context.Context, sql string, tables []Table) error {
	cat, err := newCatalog(tables)
	if err != nil {
		return err
	}
	_, err = a.analyze(ctx, sql, cat)
	return err
}

// AnalyzeAll analyses statements in order, as one script: a table that a
// CREATE [OR REPLACE] TABLE ... AS SELECT creates is in the catalog of the
// statements after it, with the columns the analyzer inferred. It stops at
// the first error.
func (a *Analyzer) AnalyzeAll(ctx context.Context, statements []string, tables []Table) error {
	cat, err := newCatalog(tables)
	if err != nil {
		return err
	}
	for _, sql := range statements {
		resp, err := a.analyze(ctx, sql, cat)
		if err != nil {
			return err
		}
		ctas := resp.GetResolvedStatement().GetResolvedCreateStatementNode().
			GetResolvedCreateTableStmtBaseNode().GetResolvedCreateTableAsSelectStmtNode().GetParent()
		if ctas == nil {
			continue
		}
		var cols []*pb.SimpleColumnProto
		for _, c := range ctas.GetColumnDefinitionList() {
			// The type is passed on as the server sent it, so array and
			// struct types (fields this package leaves out) survive.
			cols = append(cols, &pb.SimpleColumnProto{Name: c.Name, Type: c.Type})
		}
		cat.add(ctas.GetParent().GetNamePath(), cols)
	}
	return nil
}

func (a *Analyzer) analyze(ctx context.Context, sql string, cat *catalog) (*pb.AnalyzeResponse, error) {
	req := &pb.AnalyzeRequest{
		Options: &pb.AnalyzerOptionsProto{
			LanguageOptions:  a.lang,
			ErrorMessageMode: pb.ErrorMessageMode_ERROR_MESSAGE_ONE_LINE.Enum(),
		},
		SimpleCatalog: cat.proto(a.lang),
		Target:        &pb.AnalyzeRequest_SqlStatement{SqlStatement: sql},
	}
	resp, err := a.client.Analyze(ctx, req)
	if err == nil {
		return resp, nil
	}
	if s, ok := status.FromError(err); ok && s.Code() == codes.InvalidArgument {
		return nil, newAnalysisError(sql, s.Message())
	}
	return nil, fmt.Errorf("zetasql: analyze: %w", err)
}

// ERROR_MESSAGE_ONE_LINE ends messages with the error's location.
var locationSuffix = regexp.MustCompile(` \[at (\d+):(\d+)\]$`)

func newAnalysisError(sql, msg string) *AnalysisError {
	e := &AnalysisError{SQL: sql, Message: msg}
	if m := locationSuffix.FindStringSubmatchIndex(msg); m != nil {
		e.Message = msg[:m[0]]
		e.Line, _ = strconv.Atoi(msg[m[2]:m[3]])
		e.Column, _ = strconv.Atoi(msg[m[4]:m[5]])
	}
	return e
}

// catalog is a tree of catalogs, one level per name part. ZetaSQL finds a
// table path a.b.c by descending into sub-catalog a, then b, then taking
// table c; but `a.b`.c or `a.b.c` (one quoted identifier, as BigQuery allows)
// are paths of fewer, dotted parts. So each table is registered under every
// way of grouping its name's parts: 4 paths for a 3-part name.
type catalog struct {
	name   string
	tables map[string]*pb.SimpleTableProto // by lower-cased name, as ZetaSQL compares names
	subs   map[string]*catalog
}

func newCatalog(tables []Table) (*catalog, error) {
	cat := &catalog{}
	for _, t := range tables {
		var cols []*pb.SimpleColumnProto
		for _, c := range t.Columns {
			kind, err := typeKind(c.Type)
			if err != nil {
				return nil, fmt.Errorf("zetasql: table %s column %s: %w", t.Name, c.Name, err)
			}
			cols = append(cols, &pb.SimpleColumnProto{Name: ptr(c.Name), Type: &pb.TypeProto{TypeKind: &kind}})
		}
		cat.add([]string{t.Name}, cols)
	}
	return cat, nil
}

// add registers a table under name, a path whose parts may hold dots. A
// later table of the same name replaces an earlier one.
func (c *catalog) add(name []string, cols []*pb.SimpleColumnProto) {
	var parts []string
	for _, n := range name {
		parts = append(parts, strings.Split(n, ".")...)
	}
	for _, path := range groupings(parts) {
		cur := c
		for _, p := range path[:len(path)-1] {
			key := strings.ToLower(p)
			if cur.subs[key] == nil {
				if cur.subs == nil {
					cur.subs = map[string]*catalog{}
				}
				cur.subs[key] = &catalog{name: p}
			}
			cur = cur.subs[key]
		}
		leaf := path[len(path)-1]
		if cur.tables == nil {
			cur.tables = map[string]*pb.SimpleTableProto{}
		}
		cur.tables[strings.ToLower(leaf)] = &pb.SimpleTableProto{Name: ptr(leaf), Column: cols}
	}
}

// groupings returns every way of splitting parts into consecutive groups,
// each group joined with dots: [a b c] gives [a b c], [a b.c], [a.b c], [a.b.c].
func groupings(parts []string) [][]string {
	if len(parts) <= 1 {
		return [][]string{parts}
	}
	var out [][]string
	for _, rest := range groupings(parts[1:]) {
		out = append(out, append([]string{parts[0]}, rest...))                     // parts[0] alone
		out = append(out, append([]string{parts[0] + "." + rest[0]}, rest[1:]...)) // joined with the next
	}
	return out
}

// proto returns the catalog as sent to the server; the root also carries the
// builtin functions, which ZetaSQL chooses by the language options.
func (c *catalog) proto(lang *pb.LanguageOptionsProto) *pb.SimpleCatalogProto {
	p := c.tree()
	p.BuiltinFunctionOptions = &pb.ZetaSQLBuiltinFunctionOptionsProto{LanguageOptions: lang}
	return p
}

func (c *catalog) tree() *pb.SimpleCatalogProto {
	p := &pb.SimpleCatalogProto{Name: ptr(c.name)}
	for _, key := range sortedKeys(c.tables) {
		p.Table = append(p.Table, c.tables[key])
	}
	for _, key := range sortedKeys(c.subs) {
		p.Catalog = append(p.Catalog, c.subs[key].tree())
	}
	return p
}

// typeKind parses a Column.Type.
func typeKind(name string) (pb.TypeKind, error) {
	n := strings.ToUpper(strings.TrimSpace(name))
	switch n {
	case "FLOAT64":
		return pb.TypeKind_TYPE_DOUBLE, nil
	case "BOOLEAN":
		return pb.TypeKind_TYPE_BOOL, nil
	}
	if k, ok := pb.TypeKind_value["TYPE_"+strings.TrimPrefix(n, "TYPE_")]; ok &&
		k != int32(pb.TypeKind_TYPE_UNKNOWN) && !complexKinds[pb.TypeKind(k)] {
		return pb.TypeKind(k), nil
	}
	return 0, fmt.Errorf("unsupported type %q: want a simple ZetaSQL type kind such as INT64 or STRING", name)
}

// complexKinds need more than a kind to describe them.
var complexKinds = map[pb.TypeKind]bool{
	pb.TypeKind_TYPE_ENUM: true, pb.TypeKind_TYPE_ARRAY: true, pb.TypeKind_TYPE_STRUCT: true,
	pb.TypeKind_TYPE_PROTO: true, pb.TypeKind_TYPE_EXTENDED: true, pb.TypeKind_TYPE_RANGE: true,
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func ptr[T any](v T) *T { return &v }
