package config

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// File returns the config path as given to Load or Parse.
func (c *Config) File() string { return c.file }

// Pos returns where the field at path (such as "warehouse.plugin",
// "segments[1].where" or "destinations[0].config.dir") is in the file,
// or the zero Position when it is not there.
func (c *Config) Pos(path string) Position { return c.positions[path] }

// nearestPos is the position of path or, when path is not in the file
// (a missing field), of its closest ancestor that is.
func (c *Config) nearestPos(path string) Position {
	for path != "" {
		if p, ok := c.positions[path]; ok {
			return p
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return Position{}
}

// Resolve makes p, a path written in the config, absolute by joining it
// to the config file's directory. Absolute paths and "" are returned as is.
func (c *Config) Resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir, p)
}

// Job returns the job called name, or nil.
func (c *Config) Job(name string) *Job {
	return find(c.Jobs, func(j *Job) bool { return j.Name == name })
}

// Segment returns the segment called name, or nil.
func (c *Config) Segment(name string) *Segment {
	return find(c.Segments, func(s *Segment) bool { return s.Name == name })
}

// Destination returns the destination called name, or nil.
func (c *Config) Destination(name string) *Destination {
	return find(c.Destinations, func(d *Destination) bool { return d.Name == name })
}

// Plugin returns the plugins entry called name, or nil. Built-in plugins
// have no entry.
func (c *Config) Plugin(name string) *Plugin {
	return find(c.Plugins, func(p *Plugin) bool { return p.Name == name })
}

func find[T any](items []T, match func(*T) bool) *T {
	for i := range items {
		if match(&items[i]) {
			return &items[i]
		}
	}
	return nil
}

// ConfigJSON returns warehouse.config as the JSON the warehouse plugin
// receives ({} when it is not set). ${ENV} values are expanded.
func (w Warehouse) ConfigJSON() (json.RawMessage, error) { return configJSON(w.Config) }

// ConfigJSON returns the destination's config as the JSON its plugin
// receives ({} when it is not set). ${ENV} values are expanded.
func (d Destination) ConfigJSON() (json.RawMessage, error) { return configJSON(d.Config) }

// PluginConfigJSON marshals a plugin section (c.Warehouse.Config or a
// destination's Config) to the JSON its plugin receives; nil gives {}.
func (c *Config) PluginConfigJSON(section map[string]any) (json.RawMessage, error) {
	return configJSON(section)
}

// Errorf returns a *FieldError for the field at path, placed at its line
// in the file (or its closest ancestor's when the field is left out), with
// secrets redacted. Use it for checks made after loading, such as a
// plugin rejecting its config or a mapped column missing from a table.
func (c *Config) Errorf(path, format string, args ...any) error {
	p := c.nearestPos(path)
	return &FieldError{File: c.file, Path: path, Line: p.Line, Column: p.Column,
		Msg: c.Redact(fmt.Sprintf(format, args...))}
}

func configJSON(m map[string]any) (json.RawMessage, error) {
	if m == nil {
		return json.RawMessage("{}"), nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("plugin config to JSON: %w", err)
	}
	return b, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
