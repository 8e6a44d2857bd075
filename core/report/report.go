// Package report reads small summaries of model tables from the warehouse
// and prints them as a table, CSV or JSON. Every aggregation runs in the
// warehouse; only the summary rows travel.
package report

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/segflow/segflow/core"
)

// Table is a small result held in memory.
type Table struct {
	Title   string
	Columns []string
	Rows    [][]any
}

// Query runs sql and reads its (small) result.
func Query(ctx context.Context, wh core.Warehouse, title, sql string, params ...any) (*Table, error) {
	rdr, err := wh.Query(ctx, sql, params...)
	if err != nil {
		return nil, err
	}
	defer rdr.Release()
	t := &Table{Title: title}
	for _, f := range rdr.Schema().Fields() {
		t.Columns = append(t.Columns, f.Name)
	}
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			row := make([]any, rec.NumCols())
			for c := range row {
				row[c] = core.ValueAt(rec.Column(c), i)
			}
			t.Rows = append(t.Rows, row)
		}
	}
	return t, rdr.Err()
}

// Formats are the output formats Write knows.
var Formats = []string{"table", "csv", "json"}

// Write prints tables in format: "table" (aligned, with titles), "csv"
// (one header row per table, tables separated by a blank line) or "json"
// (an object per table with its rows as objects).
func Write(w io.Writer, format string, tables ...*Table) error {
	switch format {
	case "table":
		for i, t := range tables {
			if i > 0 {
				fmt.Fprintln(w)
			}
			if t.Title != "" {
				fmt.Fprintln(w, t.Title)
			}
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, strings.Join(t.Columns, "\t")+"\t")
			for _, r := range t.Rows {
				for _, v := range r {
					fmt.Fprint(tw, core.FormatValue(v)+"\t")
				}
				fmt.Fprintln(tw)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
		}
		return nil
	case "csv":
		cw := csv.NewWriter(w)
		for i, t := range tables {
			if i > 0 {
				cw.Write(nil)
			}
			cw.Write(t.Columns)
			for _, r := range t.Rows {
				rec := make([]string, len(r))
				for j, v := range r {
					rec[j] = csvValue(v)
				}
				cw.Write(rec)
			}
		}
		cw.Flush()
		return cw.Error()
	case "json":
		type out struct {
			Title string           `json:"title"`
			Rows  []map[string]any `json:"rows"`
		}
		all := make([]out, len(tables))
		for i, t := range tables {
			all[i] = out{Title: t.Title, Rows: []map[string]any{}}
			for _, r := range t.Rows {
				m := map[string]any{}
				for j, c := range t.Columns {
					m[c] = r[j]
				}
				all[i].Rows = append(all[i].Rows, m)
			}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(all)
	}
	return fmt.Errorf("unknown format %q (table, csv, json)", format)
}

// csvValue keeps full precision, unlike the rounded table view.
func csvValue(v any) string {
	if f, ok := v.(float64); ok {
		return fmt.Sprint(f)
	}
	return core.FormatValue(v)
}
