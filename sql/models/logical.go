package models

import (
	"slices"

	"github.com/segflow/segflow/sql/dialect"
)

// Column is a column of segflow's logical data model.
type Column struct {
	Name string
	// Optional columns may be absent from a source; the staging layer
	// then supplies a typed NULL.
	Optional bool
	// Type is the column's type; it names the NULL that stands in for a
	// missing optional column.
	Type dialect.Type
}

// logicalTables is the logical data model of DESIGN.md section 4.
var logicalTables = map[string][]Column{
	"customers": {
		{Name: "customer_id", Type: dialect.String},
		{Name: "email", Optional: true, Type: dialect.String},
		{Name: "first_name", Optional: true, Type: dialect.String},
		{Name: "last_name", Optional: true, Type: dialect.String},
		{Name: "phone", Optional: true, Type: dialect.String},
		{Name: "created_at", Optional: true, Type: dialect.Timestamp},
		{Name: "birth_date", Optional: true, Type: dialect.Date},
		{Name: "gender", Optional: true, Type: dialect.String},
		{Name: "country", Optional: true, Type: dialect.String},
	},
	"orders": {
		{Name: "order_id", Type: dialect.String},
		{Name: "customer_id", Type: dialect.String},
		{Name: "ordered_at", Type: dialect.Timestamp},
		{Name: "revenue", Type: dialect.Float64},
		{Name: "sales_channel", Optional: true, Type: dialect.String},
		{Name: "store_id", Optional: true, Type: dialect.String},
		{Name: "status", Optional: true, Type: dialect.String},
	},
	"order_lines": {
		{Name: "order_id", Type: dialect.String},
		{Name: "product_id", Type: dialect.String},
		{Name: "quantity", Optional: true, Type: dialect.Int64},
		{Name: "revenue", Type: dialect.Float64},
	},
	"products": {
		{Name: "product_id", Type: dialect.String},
		{Name: "name", Optional: true, Type: dialect.String},
		{Name: "department", Optional: true, Type: dialect.String},
		{Name: "category", Optional: true, Type: dialect.String},
		{Name: "subcategory", Optional: true, Type: dialect.String},
		{Name: "brand", Optional: true, Type: dialect.String},
	},
	"touchpoints": {
		{Name: "customer_id", Type: dialect.String},
		{Name: "occurred_at", Type: dialect.Timestamp},
		{Name: "channel", Type: dialect.String},
		{Name: "campaign", Optional: true, Type: dialect.String},
		{Name: "cost", Optional: true, Type: dialect.Float64},
	},
}

// LogicalTables lists the logical tables a Source can stand for.
func LogicalTables() []string {
	return []string{"customers", "orders", "order_lines", "products", "touchpoints"}
}

// LogicalColumns returns the columns of logical table table, or nil when
// there is no such table. A caller computing Source.Missing describes
// the physical table and lists the optional columns it lacks.
func LogicalColumns(table string) []Column {
	return slices.Clone(logicalTables[table])
}

func logicalColumn(table, name string) (Column, bool) {
	i := slices.IndexFunc(logicalTables[table], func(c Column) bool { return c.Name == name })
	if i < 0 {
		return Column{}, false
	}
	return logicalTables[table][i], true
}
