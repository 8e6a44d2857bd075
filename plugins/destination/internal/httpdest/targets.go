package httpdest

import (
	"cmp"
	"maps"
	"slices"
)

// Targets maps segments to the vendor object their members go to (a
// list, a manual segment): a segment's own entry, else the default. It
// is the list_id + lists (or segment_id + segments) pair of a config.
type Targets[T cmp.Ordered] struct {
	Default   T
	BySegment map[string]T
}

// For returns segment's target; ok is false when neither its own entry
// nor the default is set.
func (t Targets[T]) For(segment string) (id T, ok bool) {
	if id, ok := t.BySegment[segment]; ok {
		return id, true
	}
	var zero T
	return t.Default, t.Default != zero
}

// All returns every configured target once, sorted.
func (t Targets[T]) All() []T {
	all := slices.Collect(maps.Values(t.BySegment))
	var zero T
	if t.Default != zero {
		all = append(all, t.Default)
	}
	slices.Sort(all)
	return slices.Compact(all)
}
