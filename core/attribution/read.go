package attribution

import (
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/segflow/segflow/core"
)

// ReadTransitions reads the result of the transitions query (columns
// from_channel, to_channel, converted, transitions, in any case and
// order): from_channel NULL is Start, to_channel NULL is the end of a
// path, Conversion when converted is true and Null otherwise. It does
// not release rdr.
func ReadTransitions(rdr array.RecordReader) ([]Transition, error) {
	cols, err := columnIndexes(rdr.Schema(), "from_channel", "to_channel", "converted", "transitions")
	if err != nil {
		return nil, err
	}
	var out []Transition
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			t := Transition{From: Start}
			if v, ok := core.ValueAt(rec.Column(cols[0]), i).(string); ok {
				if reserved(v) {
					return nil, fmt.Errorf("attribution: channel %q has a reserved name", v)
				}
				t.From = v
			}
			switch v := core.ValueAt(rec.Column(cols[1]), i).(type) {
			case string:
				if reserved(v) {
					return nil, fmt.Errorf("attribution: channel %q has a reserved name", v)
				}
				t.To = v
			case nil:
				t.To = Null
				if conv, _ := core.ValueAt(rec.Column(cols[2]), i).(bool); conv {
					t.To = Conversion
				}
			default:
				return nil, fmt.Errorf("attribution: to_channel is %T, not a string", v)
			}
			if t.Count, err = core.Float64At(rec.Column(cols[3]), i); err != nil {
				return nil, err
			}
			out = append(out, t)
		}
	}
	return out, rdr.Err()
}

// ReadSetStats reads the result of the channel-sets query (columns
// set_mask, channel, conversions, non_conversions): one row per member
// channel of each set, the set's counts repeated on every row, grouped
// here by set_mask. It does not release rdr.
func ReadSetStats(rdr array.RecordReader) ([]SetStats, error) {
	cols, err := columnIndexes(rdr.Schema(), "set_mask", "channel", "conversions", "non_conversions")
	if err != nil {
		return nil, err
	}
	byMask := map[int64]*SetStats{}
	var masks []int64
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			mask, err := core.Int64At(rec.Column(cols[0]), i)
			if err != nil {
				return nil, err
			}
			ch, ok := core.ValueAt(rec.Column(cols[1]), i).(string)
			if !ok {
				return nil, fmt.Errorf("attribution: channel set %d has a NULL channel", mask)
			}
			conv, err1 := core.Float64At(rec.Column(cols[2]), i)
			non, err2 := core.Float64At(rec.Column(cols[3]), i)
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("attribution: channel set counts: %w", errorsJoin(err1, err2))
			}
			s := byMask[mask]
			if s == nil {
				s = &SetStats{Conversions: conv, NonConversions: non}
				byMask[mask] = s
				masks = append(masks, mask)
			} else if s.Conversions != conv || s.NonConversions != non {
				return nil, fmt.Errorf("attribution: channel set %d has differing counts on its rows", mask)
			}
			s.Channels = append(s.Channels, ch)
		}
	}
	if err := rdr.Err(); err != nil {
		return nil, err
	}
	slices.Sort(masks)
	out := make([]SetStats, len(masks))
	for i, m := range masks {
		out[i] = *byMask[m]
		slices.Sort(out[i].Channels)
	}
	return out, nil
}

func reserved(c string) bool { return c == Start || c == Conversion || c == Null }

// columnIndexes finds the named columns, ignoring case (Snowflake
// returns unquoted names in upper case).
func columnIndexes(s *arrow.Schema, names ...string) ([]int, error) {
	out := make([]int, len(names))
	for i, n := range names {
		out[i] = -1
		for j, f := range s.Fields() {
			if strings.EqualFold(f.Name, n) {
				out[i] = j
				break
			}
		}
		if out[i] < 0 {
			return nil, fmt.Errorf("attribution: result has no column %s (has %s)", n, s)
		}
	}
	return out, nil
}

func errorsJoin(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
