// Package config loads segflow.yaml: the warehouse and plugins to use,
// how the team's tables map onto segflow's logical data model, the
// models, segments, destinations and jobs.
//
// Load decodes strictly: an unknown key, a value of the wrong type or a
// reference to something that does not exist is an error that names the
// file, line, column and field path, for example
//
//	segflow.yaml:14:5: sources.orders: unknown field "colums" (did you mean "columns"?)
//
// All problems are reported at once, joined with errors.Join; each is a
// *FieldError.
//
// String values may refer to environment variables as ${NAME} or
// ${NAME:-default}; "$$" is a literal "$". Only values are expanded,
// never keys. Expanded values are treated as secrets: Config.Redact
// masks them in anything printed.
//
// Plugin sections (warehouse.config, destinations[].config) are free-form
// and handed to the plugin as JSON, which validates them itself.
//
// Schema is the JSON Schema of the file, for editors.
//
// The API is pre-1.0 and may change between minor versions.
package config
