package config

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// maxDepth bounds nesting (and alias chains) so hostile input cannot
// exhaust the stack.
const maxDepth = 64

// maxAliases bounds how many times the walk follows an alias, so that a
// "billion laughs" file (aliases of aliases of lists) fails fast instead
// of expanding exponentially.
const maxAliases = 10_000

// Load reads, parses, defaults and validates the config file at path.
// Error messages start with path as given, so pass it the way the user
// wrote it.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("config file %s not found: %w", path, fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(data, path)
}

// Parse is Load on bytes already read; path names the file in messages
// and sets Dir. ${NAME} references are looked up in the process
// environment.
func Parse(data []byte, path string) (*Config, error) {
	return parse(data, path, os.LookupEnv)
}

func parse(data []byte, path string, lookup func(string) (string, bool)) (cfg *Config, err error) {
	// goccy/go-yaml is robust but young; a panic deep inside it must
	// not take the CLI or the server down with it.
	defer func() {
		if r := recover(); r != nil {
			cfg, err = nil, &FieldError{File: path, Msg: fmt.Sprintf("cannot parse YAML: %v", r)}
		}
	}()

	file, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, yamlError(path, err)
	}
	var body ast.Node
	for _, doc := range file.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if body != nil {
			p := nodePos(doc.Body)
			return nil, &FieldError{File: path, Line: p.Line, Column: p.Column,
				Msg: "more than one YAML document; a config file holds one"}
		}
		body = doc.Body
	}

	d := &decoder{
		file:     path,
		lookup:   lookup,
		pos:      map[string]Position{},
		anchors:  map[string]ast.Node{},
		expanded: map[*ast.StringNode]bool{},
	}
	cfg = &Config{file: path, Dir: configDir(path), positions: d.pos}
	if body != nil {
		d.collectAnchors(body)
		d.walk("", reflect.TypeFor[Config](), body, 0)
		cfg.secrets = secretsForRedaction(d.secrets)
		if len(d.errs) > 0 {
			for _, err := range d.errs {
				if fe, ok := err.(*FieldError); ok {
					fe.Msg = cfg.Redact(fe.Msg)
				}
			}
			return nil, errors.Join(d.errs...)
		}
		// The walk has checked the shape and expanded ${ENV} in place;
		// goccy now fills the struct from the same tree. Strict is a
		// backstop: the walk already reported unknown keys. Duplicate
		// keys were reported by the parser and the walk; allowing them
		// here lets keys after a << merge override the merged ones.
		if err := yaml.NodeToValue(body, cfg, yaml.Strict(), yaml.AllowDuplicateMapKey()); err != nil {
			return nil, yamlError(path, err)
		}
	}

	cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// secretsForRedaction dedupes secrets and sorts them longest first, so
// that a secret containing another is masked whole.
func secretsForRedaction(secrets []string) []string {
	slices.SortFunc(secrets, func(a, b string) int { return cmp.Or(len(b)-len(a), strings.Compare(a, b)) })
	return slices.Compact(secrets)
}

func configDir(path string) string {
	dir := filepath.Dir(path)
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}

// yamlError turns a goccy error into a FieldError that carries its
// position but not goccy's multi-line source excerpt.
func yamlError(path string, err error) error {
	var ye yaml.Error
	if errors.As(err, &ye) {
		p := tokenPos(ye.GetToken())
		return &FieldError{File: path, Line: p.Line, Column: p.Column, Msg: ye.GetMessage()}
	}
	return &FieldError{File: path, Msg: err.Error()}
}

func tokenPos(tk *token.Token) Position {
	if tk == nil || tk.Position == nil {
		return Position{}
	}
	return Position{Line: tk.Position.Line, Column: tk.Position.Column}
}

// nodePos is where a node starts. goccy's token for a block mapping is
// its first ":", so a mapping is placed at its first key instead.
func nodePos(n ast.Node) Position {
	switch v := n.(type) {
	case nil:
		return Position{}
	case *ast.MappingValueNode:
		if v != nil && v.Key != nil {
			return nodePos(v.Key)
		}
	case *ast.MappingNode:
		if v != nil && !v.IsFlowStyle && len(v.Values) > 0 {
			return nodePos(v.Values[0])
		}
	}
	return tokenPos(n.GetToken())
}

// decoder walks the YAML tree alongside the Go types of Config. It
// reports unknown keys and wrong shapes with their path and line,
// expands ${ENV} in string scalars and records where each field is.
type decoder struct {
	file     string
	lookup   func(string) (string, bool)
	pos      map[string]Position
	secrets  []string
	errs     []error
	anchors  map[string]ast.Node
	expanded map[*ast.StringNode]bool
	aliases  int // aliases followed so far
}

func (d *decoder) errorf(path string, at Position, format string, args ...any) {
	d.errs = append(d.errs, &FieldError{File: d.file, Path: path, Line: at.Line, Column: at.Column,
		Msg: fmt.Sprintf(format, args...)})
}

type anchorCollector map[string]ast.Node

func (a anchorCollector) Visit(n ast.Node) ast.Visitor {
	if an, ok := n.(*ast.AnchorNode); ok && an.Name != nil && an.Value != nil {
		a[an.Name.GetToken().Value] = an.Value
	}
	return a
}

// collectAnchors indexes &anchors up front so that *aliases resolve
// whatever order the walk visits them in.
func (d *decoder) collectAnchors(n ast.Node) {
	ast.Walk(anchorCollector(d.anchors), n)
}

// deref looks through anchors, aliases and tags to the node that holds
// the value.
func (d *decoder) deref(n ast.Node) ast.Node {
	for range maxDepth {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.AliasNode:
			if v.Value == nil || d.aliases >= maxAliases {
				return nil
			}
			if d.aliases++; d.aliases == maxAliases {
				d.errorf("", nodePos(v), "more than %d aliases followed; is this an alias bomb?", maxAliases)
				return nil
			}
			target, ok := d.anchors[v.Value.GetToken().Value]
			if !ok {
				return nil
			}
			n = target
		case *ast.TagNode:
			n = v.Value
		default:
			return n
		}
	}
	return nil
}

var durationType = reflect.TypeFor[time.Duration]()

func (d *decoder) walk(path string, t reflect.Type, n ast.Node, depth int) {
	at := nodePos(n)
	if depth > maxDepth {
		d.errorf(path, at, "nested too deeply")
		return
	}
	n = d.deref(n)
	if n == nil || n.Type() == ast.NullType {
		return // null leaves the zero value
	}
	switch {
	case t == durationType:
		d.walkDuration(path, n)
	case t.Kind() == reflect.Pointer:
		d.walk(path, t.Elem(), n, depth)
	case t.Kind() == reflect.Struct:
		d.walkStruct(path, t, n, depth)
	case t.Kind() == reflect.Slice:
		seq, ok := n.(*ast.SequenceNode)
		if !ok {
			d.errorf(path, at, "expected a list, got %s", describe(n))
			return
		}
		for i, item := range seq.Values {
			p := fmt.Sprintf("%s[%d]", path, i)
			d.pos[p] = nodePos(item)
			d.walk(p, t.Elem(), item, depth+1)
		}
	case t.Kind() == reflect.Map:
		d.walkMapping(path, n, depth, func(key string, keyNode, v ast.Node) {
			p := joinPath(path, key)
			d.pos[p] = nodePos(keyNode)
			d.walk(p, t.Elem(), v, depth+1)
		})
	case t.Kind() == reflect.Interface:
		d.walkAny(path, n, depth)
	case t.Kind() == reflect.String:
		switch v := n.(type) {
		case *ast.MappingNode, *ast.MappingValueNode, *ast.SequenceNode:
			d.errorf(path, at, "expected a string, got %s", describe(n))
		default:
			d.expand(path, v)
		}
	case t.Kind() == reflect.Int:
		d.walkInt(path, n)
	}
}

// walkStruct checks every key of a mapping against the yaml tags of t.
func (d *decoder) walkStruct(path string, t reflect.Type, n ast.Node, depth int) {
	fields := map[string]reflect.Type{}
	var names []string
	for f := range yamlFields(t) {
		fields[f.Name] = f.Type
		names = append(names, f.Name)
	}
	d.walkMapping(path, n, depth, func(key string, keyNode, value ast.Node) {
		typ, ok := fields[key]
		if !ok {
			d.errorf(path, nodePos(keyNode), "unknown field %q%s", key, didYouMean(key, names))
			return
		}
		p := joinPath(path, key)
		d.pos[p] = nodePos(keyNode)
		d.walk(p, typ, value, depth+1)
	})
}

// walkMapping calls visit for each key of a mapping and reports
// duplicate keys. It follows << merge keys: keys after a << override the
// merged ones, which is how goccy decodes them, so a << that comes after
// a key it would override is reported rather than silently reordered.
func (d *decoder) walkMapping(path string, n ast.Node, depth int, visit func(key string, keyNode, value ast.Node)) {
	const (
		explicit = 1
		merged   = 2
	)
	seen := map[string]int{}
	var each func(n ast.Node, depth int, merging bool)
	each = func(n ast.Node, depth int, merging bool) {
		if depth > maxDepth {
			d.errorf(path, nodePos(n), "nested too deeply")
			return
		}
		n = d.deref(n)
		if n == nil || n.Type() == ast.NullType {
			return
		}
		if seq, ok := n.(*ast.SequenceNode); ok && merging { // <<: [*a, *b]
			for _, item := range seq.Values {
				each(item, depth+1, true)
			}
			return
		}
		m, ok := n.(ast.MapNode)
		if !ok {
			d.errorf(path, nodePos(n), "expected a mapping, got %s", describe(n))
			return
		}
		for it := m.MapRange(); it.Next(); {
			keyNode := it.Key()
			if keyNode == nil {
				continue
			}
			if keyNode.IsMergeKey() {
				each(it.Value(), depth+1, true)
				continue
			}
			key := keyString(keyNode)
			switch {
			case merging && seen[key] == explicit:
				d.errorf(path, nodePos(keyNode), "key %q comes before the << merge that sets it; put << first", key)
				continue
			case merging && seen[key] == merged:
				continue // the first merged mapping wins
			case !merging && seen[key] == explicit:
				d.errorf(path, nodePos(keyNode), "duplicate key %q", key)
				continue
			}
			seen[key] = explicit
			if merging {
				seen[key] = merged
			}
			visit(key, keyNode, it.Value())
		}
	}
	each(n, depth, false)
}

// walkAny handles free-form plugin config: any shape is fine, strings
// are expanded and every key's position is recorded.
func (d *decoder) walkAny(path string, n ast.Node, depth int) {
	if depth > maxDepth {
		d.errorf(path, nodePos(n), "nested too deeply")
		return
	}
	n = d.deref(n)
	switch v := n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		d.walkMapping(path, v, depth, func(key string, keyNode, value ast.Node) {
			p := joinPath(path, key)
			d.pos[p] = nodePos(keyNode)
			d.walkAny(p, value, depth+1)
		})
	case *ast.SequenceNode:
		for i, item := range v.Values {
			p := fmt.Sprintf("%s[%d]", path, i)
			d.pos[p] = nodePos(item)
			d.walkAny(p, item, depth+1)
		}
	default:
		d.expand(path, n)
	}
}

func (d *decoder) walkInt(path string, n ast.Node) {
	switch v := n.(type) {
	case *ast.IntegerNode:
		return
	case *ast.StringNode:
		if d.expand(path, v) {
			if _, err := strconv.Atoi(strings.TrimSpace(v.Value)); err != nil {
				d.errorf(path, nodePos(n), "expected an integer, got %q", v.Value)
			}
		}
	default:
		d.errorf(path, nodePos(n), "expected an integer, got %s", describe(n))
	}
}

func (d *decoder) walkDuration(path string, n ast.Node) {
	s, ok := n.(*ast.StringNode)
	if !ok {
		d.errorf(path, nodePos(n), "expected a duration such as 90s, 30m or 2h, got %s", describe(n))
		return
	}
	if !d.expand(path, s) {
		return
	}
	if _, err := time.ParseDuration(s.Value); err != nil {
		d.errorf(path, nodePos(n), "invalid duration %q (use a number with a unit, such as 90s, 30m or 2h)", s.Value)
	}
}

// expand replaces ${NAME} in a string scalar, once per node (an alias
// may lead to the same node twice). It reports whether the value is
// usable.
func (d *decoder) expand(path string, n ast.Node) bool {
	var s *ast.StringNode
	switch v := n.(type) {
	case *ast.StringNode:
		s = v
	case *ast.LiteralNode: // block scalars: | and >
		s = v.Value
	}
	if s == nil || d.expanded[s] {
		return true
	}
	d.expanded[s] = true
	out, secrets, err := expandEnv(s.Value, d.lookup)
	if err != nil {
		d.errorf(path, nodePos(n), "%v", err)
		return false
	}
	s.Value = out
	d.secrets = append(d.secrets, secrets...)
	return true
}

// yamlField is a struct field as YAML names it.
type yamlField struct {
	Name string
	Type reflect.Type
}

// yamlFields yields the YAML-visible fields of struct type t.
func yamlFields(t reflect.Type) func(yield func(yamlField) bool) {
	return func(yield func(yamlField) bool) {
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			if !yield(yamlField{Name: name, Type: f.Type}) {
				return
			}
		}
	}
}

func keyString(k ast.MapKeyNode) string {
	if s, ok := k.(*ast.StringNode); ok {
		return s.Value
	}
	if tk := k.GetToken(); tk != nil {
		return tk.Value
	}
	return k.String()
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// describe names the kind of a node for "expected X, got Y" messages.
func describe(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.StringNode, *ast.LiteralNode:
		return fmt.Sprintf("the string %q", n.GetToken().Value)
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "the number " + n.GetToken().Value
	case *ast.BoolNode:
		return "the boolean " + n.GetToken().Value
	case *ast.NullNode:
		return "null"
	}
	return "a " + strings.ToLower(n.Type().String())
}
