package models

import (
	"fmt"

	"github.com/segflow/segflow/sql/dialect"
)

// columnTypes are the types of the per-customer model tables' columns,
// which typed segment filters are checked against. customer_id is
// whatever the source's id is; it is typed as text for filters.
var columnTypes = map[string]map[string]dialect.Type{
	"rfm": {
		"customer_id": dialect.String, "recency_days": dialect.Int64, "frequency": dialect.Int64,
		"monetary": dialect.Float64, "r_score": dialect.Int64, "f_score": dialect.Int64, "m_score": dialect.Int64,
		"rfm_cell": dialect.String, "rfm_score": dialect.Int64, "segment": dialect.String,
		"count_decile": dialect.Int64, "revenue_decile": dialect.Int64, "rfm_decile": dialect.Int64,
		"loyalty": dialect.String, "as_of": dialect.Date,
	},
	"lifecycle": {
		"customer_id": dialect.String, "stage": dialect.String, "last_order_at": dialect.Timestamp,
		"orders": dialect.Int64, "revenue": dialect.Float64, "days_since_last_order": dialect.Int64,
		"active_days": dialect.Int64, "inactive_days": dialect.Int64, "as_of": dialect.Date,
	},
	"clv": {
		"customer_id": dialect.String, "frequency": dialect.Int64, "recency": dialect.Float64, "t": dialect.Float64,
		"p_alive": dialect.Float64, "expected_purchases": dialect.Float64, "expected_value": dialect.Float64,
		"clv": dialect.Float64, "churn_risk": dialect.String, "purchase_outlook": dialect.String,
	},
}

// TypedColumn is a column of a model's per-customer table.
type TypedColumn struct {
	Name string
	Type dialect.Type
}

// OutputColumnTypes returns the typed columns a segment over model may
// filter on, in table order, plus email.
func OutputColumnTypes(model string) ([]TypedColumn, error) {
	cols, err := OutputColumns(model)
	if err != nil {
		return nil, err
	}
	types, ok := columnTypes[model]
	if !ok {
		return nil, fmt.Errorf("model %s has no per-customer table to filter", model)
	}
	out := make([]TypedColumn, 0, len(cols)+1)
	for _, c := range cols {
		out = append(out, TypedColumn{c, types[c]})
	}
	return append(out, TypedColumn{"email", dialect.String}), nil
}
