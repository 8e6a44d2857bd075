package config

import "slices"

// LogicalTable lists the columns of one table of segflow's logical data
// model (DESIGN.md section 4).
type LogicalTable struct {
	Required []string
	Optional []string
}

// Columns returns the required columns followed by the optional ones.
func (t LogicalTable) Columns() []string {
	return append(slices.Clip(t.Required), t.Optional...)
}

// Has reports whether col is a column of the table.
func (t LogicalTable) Has(col string) bool {
	return slices.Contains(t.Required, col) || slices.Contains(t.Optional, col)
}

// LogicalTables is segflow's logical data model: the tables and columns
// that sources map onto the team's own tables.
var LogicalTables = map[string]LogicalTable{
	"customers": {
		Required: []string{"customer_id"},
		Optional: []string{"email", "first_name", "last_name", "phone", "created_at", "birth_date", "gender", "country"},
	},
	"orders": {
		Required: []string{"order_id", "customer_id", "ordered_at", "revenue"},
		Optional: []string{"sales_channel", "store_id", "status"},
	},
	"order_lines": {
		Required: []string{"order_id", "product_id", "revenue"},
		Optional: []string{"quantity"},
	},
	"products": {
		Required: []string{"product_id"},
		Optional: []string{"name", "department", "category", "subcategory", "brand"},
	},
	"touchpoints": {
		Required: []string{"customer_id", "occurred_at", "channel"},
		Optional: []string{"campaign", "cost"},
	},
}

// LogicalTableNames lists the logical tables in documentation order.
var LogicalTableNames = []string{"customers", "orders", "order_lines", "products", "touchpoints"}

// RequiredSources are the logical tables every config must map.
var RequiredSources = []string{"customers", "orders"}

// BuiltinWarehouses are the warehouse plugins compiled into segflow.
var BuiltinWarehouses = []string{"duckdb", "bigquery", "snowflake"}

// BuiltinDestinations are the destination plugins compiled into segflow
// that need no plugins entry.
var BuiltinDestinations = []string{"file", "mailchimp", "klaviyo", "braze", "sendgrid", "hubspot", "customerio", "webhook"}

// KnownModels are the models a job may name.
var KnownModels = []string{"rfm", "lifecycle", "cohort", "clv", "attribution", "affinity"}

// SegmentModels are the models with one row per customer, which a
// segment may filter.
var SegmentModels = []string{"rfm", "lifecycle", "clv"}

// Plugin kinds.
const (
	KindWarehouse   = "warehouse"
	KindDestination = "destination"
)

// Table returns the source mapped onto logical table name, or nil when
// the config leaves it out (or name is not a logical table).
func (s *Sources) Table(name string) *Source {
	switch name {
	case "customers":
		return s.Customers
	case "orders":
		return s.Orders
	case "order_lines":
		return s.OrderLines
	case "products":
		return s.Products
	case "touchpoints":
		return s.Touchpoints
	}
	return nil
}

// Column returns the physical name of logical column col: its mapping
// under columns, or col itself when it is not mapped.
func (s *Source) Column(col string) string {
	if phys, ok := s.Columns[col]; ok && phys != "" {
		return phys
	}
	return col
}
