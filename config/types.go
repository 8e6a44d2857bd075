package config

import "time"

// Config is a whole segflow.yaml. Field comments are the reference
// documentation; the README's configuration section mirrors them.
type Config struct {
	// Version of the config format. Only 1 exists.
	Version int `yaml:"version"`
	// Project names the deployment; it labels runs and warehouse jobs.
	Project string `yaml:"project"`
	// Timezone (IANA name) in which "today" is taken for as_of dates and
	// schedules. Default UTC.
	Timezone string `yaml:"timezone"`

	Warehouse    Warehouse     `yaml:"warehouse"`
	Plugins      []Plugin      `yaml:"plugins"`
	Sources      Sources       `yaml:"sources"`
	Models       Models        `yaml:"models"`
	Segments     []Segment     `yaml:"segments"`
	Destinations []Destination `yaml:"destinations"`
	Jobs         []Job         `yaml:"jobs"`
	State        State         `yaml:"state"`

	// Dir is the directory of the config file; relative paths in the
	// config are resolved against it. Set by Load, not by YAML.
	Dir string `yaml:"-"`
	// positions maps a field path such as "segments[0].where" to its
	// line and column in the file. Set by Load.
	positions map[string]Position
	// secrets holds every value that came from ${ENV} expansion so that
	// loggers and error printers can redact them.
	secrets []string
	// file is the config path as given to Load or Parse; error messages
	// start with it.
	file string
}

// Position is a place in the config file.
type Position struct{ Line, Column int }

// Warehouse selects the warehouse plugin and where models write.
type Warehouse struct {
	// Plugin is a built-in plugin name (duckdb) or the name of an entry
	// under plugins.
	Plugin string `yaml:"plugin"`
	// Config is handed to the plugin as JSON; the plugin validates it.
	Config map[string]any `yaml:"config"`
	// OutputSchema is the schema (BigQuery: dataset) where segflow
	// materialises model, segment and sync-state tables. Default "segflow".
	OutputSchema string `yaml:"output_schema"`
}

// Plugin declares an external plugin binary.
type Plugin struct {
	Name string `yaml:"name"`
	// Kind is "warehouse" or "destination".
	Kind string `yaml:"kind"`
	// Path to the executable, relative to the config file's directory.
	Path string `yaml:"path"`
	// SHA256 is the hex checksum the binary must have before it is launched.
	SHA256 string `yaml:"sha256"`
}

// Sources maps each logical table of the data model onto a physical table
// or a SQL query. customers and orders are required; order_lines,
// products and touchpoints are needed only by models that read them.
type Sources struct {
	Customers   *Source `yaml:"customers"`
	Orders      *Source `yaml:"orders"`
	OrderLines  *Source `yaml:"order_lines"`
	Products    *Source `yaml:"products"`
	Touchpoints *Source `yaml:"touchpoints"`
}

// Source is one logical table. Exactly one of Table or SQL is set.
type Source struct {
	// Table is a physical table name, optionally qualified (schema.table).
	Table string `yaml:"table"`
	// SQL is a SELECT whose result stands in for the table.
	SQL string `yaml:"sql"`
	// Columns maps logical column names onto physical column names.
	// A logical column left out is assumed to have the same physical name.
	Columns map[string]string `yaml:"columns"`
}

// Models configures the built-in models. A model is computed when a job
// names it.
type Models struct {
	// AsOf fixes the analysis date of every model (YYYY-MM-DD); for clv it
	// is the end of the calibration period. Default: today in Timezone.
	AsOf        string      `yaml:"as_of"`
	RFM         RFM         `yaml:"rfm"`
	Lifecycle   Lifecycle   `yaml:"lifecycle"`
	CLV         CLV         `yaml:"clv"`
	Attribution Attribution `yaml:"attribution"`
	Affinity    Affinity    `yaml:"affinity"`
}

// Attribution configures the attribution models.
type Attribution struct {
	// LookbackDays: touches up to this many days before an order are
	// credited with it. Default 30.
	LookbackDays int `yaml:"lookback_days"`
	// HalfLifeDays of the time_decay model. Default 7.
	HalfLifeDays float64 `yaml:"half_life_days"`
	// ReuseTouches lets one touch be credited to every order in its
	// lookback; by default a touch counts only for the next order.
	ReuseTouches bool `yaml:"reuse_touches"`
	// PositionWeights adds the custom_position model with these weights.
	PositionWeights *PositionWeights `yaml:"position_weights"`
	// WindowMonths limits conversions to the last months up to as_of;
	// default all history.
	WindowMonths int `yaml:"window_months"`
}

// PositionWeights are the custom_position model's weights of the first,
// all middle and the last touch; they are scaled to sum to 1.
type PositionWeights struct {
	First  float64 `yaml:"first"`
	Middle float64 `yaml:"middle"`
	Last   float64 `yaml:"last"`
}

// Affinity configures the market-basket analysis.
type Affinity struct {
	// MinCount: pairs seen in fewer baskets are not reported. Default 5.
	MinCount int `yaml:"min_count"`
	// MinSupport: pairs with a smaller share of baskets are not reported.
	MinSupport float64 `yaml:"min_support"`
	// TopK keeps the K consequents with the highest lift per antecedent;
	// default all.
	TopK int `yaml:"top_k"`
	// Recommendations per customer. Default 5.
	Recommendations int `yaml:"recommendations"`
}

// Lifecycle configures the lifecycle model's stage thresholds.
type Lifecycle struct {
	// ActiveDays: a contact whose last purchase is at most this many days
	// ago is active (or a first-time buyer). Default: derived from the
	// data, the 75th percentile of repeat buyers' gaps between purchases.
	ActiveDays int `yaml:"active_days"`
	// InactiveDays: beyond this many days a contact is inactive; between
	// the two, defecting. Default: the 95th percentile of the same gaps.
	InactiveDays int `yaml:"inactive_days"`
	// PeriodDays is how far back the earlier stages of the transitions
	// are taken. Default 30.
	PeriodDays int `yaml:"period_days"`
}

// CLV configures the clv model (BG/NBD and Gamma-Gamma).
type CLV struct {
	// TimeUnit is the model's unit of time: "week" (default) or "day".
	TimeUnit string `yaml:"time_unit"`
	// Horizon is how many time units ahead expected purchases and CLV
	// look. Default 52.
	Horizon int `yaml:"horizon"`
}

// RFM configures the rfm model.
type RFM struct {
	// WindowMonths is the look-back window for recency/frequency/monetary.
	// Default 12.
	WindowMonths int `yaml:"window_months"`
	// SegmentMap assigns named segments from R and F scores; the first
	// matching rule wins and the rules must cover all 25 (R, F) cells.
	// Default: the 11-segment map documented in sql/models.
	SegmentMap []SegmentRule `yaml:"segment_map"`
}

// SegmentRule names the customers whose scores fall in the given ranges.
// Ranges are "N" or "N-M" with 1 <= N <= M <= 5.
type SegmentRule struct {
	Name string `yaml:"name"`
	R    string `yaml:"r"`
	F    string `yaml:"f"`
}

// Segment is a named filter over model outputs.
type Segment struct {
	Name string `yaml:"name"`
	// Model whose output table the segment filters (rfm).
	Model string `yaml:"model"`
	// Filter is a typed expression (CEL) over the model's columns, such
	// as `segment in ['Champions', 'Loyal'] && monetary > 100`. It is
	// type-checked and compiled to each dialect's SQL with its values as
	// bound parameters.
	Filter string `yaml:"filter"`
	// Where is a raw SQL boolean expression over the model's columns,
	// written by the config author (the escape hatch). With Filter, both
	// must hold.
	Where string `yaml:"where"`
	// Attributes are the columns sent for each member besides
	// customer_id; "email" comes from the customers table.
	Attributes []string `yaml:"attributes"`
	// Destinations are names of entries under destinations.
	Destinations []string `yaml:"destinations"`
	// Holdout is the share of members, in [0, 1), kept out of every
	// destination as the control group: a hash of (segment, customer_id)
	// picks them, the same on every run and in every warehouse.
	Holdout float64 `yaml:"holdout"`
}

// Destination is a configured outbound target.
type Destination struct {
	Name string `yaml:"name"`
	// Plugin is a built-in destination (file, mailchimp, klaviyo, braze,
	// sendgrid, hubspot, customerio, webhook; config.BuiltinDestinations)
	// or an external plugin name.
	Plugin string `yaml:"plugin"`
	// Config is handed to the destination as JSON.
	Config map[string]any `yaml:"config"`
}

// Job is a unit the runner executes: refresh models, then build the
// segments and publish them.
type Job struct {
	Name string `yaml:"name"`
	// Schedule is a cron expression (5 fields or @daily style); optional.
	Schedule string   `yaml:"schedule"`
	Models   []string `yaml:"models"`
	Segments []string `yaml:"segments"`
	// Timeout bounds one run (Go duration). Default 1h.
	Timeout time.Duration `yaml:"timeout"`
	// Retries is how many more attempts a failed run gets. Default 0.
	Retries int `yaml:"retries"`
	// Backoff is the wait before the first retry, doubled before each
	// further one. Default 30s.
	Backoff time.Duration `yaml:"backoff"`
	// CatchUp says what a scheduler that was down does with the times it
	// missed: one (run once now, the default), none, or all.
	CatchUp string `yaml:"catch_up"`
}

// State says where run history and job locks are kept.
type State struct {
	// DSN is a SQLite file path (relative to the config file) or a
	// postgres:// URL, for several segflow instances sharing one
	// history. Default ".segflow/state.db".
	DSN string `yaml:"dsn"`
}
