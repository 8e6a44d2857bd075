package config

import _ "embed"

// Schema is the JSON Schema (draft 2020-12) of segflow.yaml, for editors
// such as VS Code's YAML extension:
//
//	# yaml-language-server: $schema=./segflow.schema.json
//
// It checks shape only; Validate checks references and ranges.
//
//go:embed segflow.schema.json
var Schema []byte
