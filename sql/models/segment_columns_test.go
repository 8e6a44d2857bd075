package models

import "testing"

// Every column of every filterable model table has a type.
func TestOutputColumnTypesCoverTheTables(t *testing.T) {
	for model, types := range columnTypes {
		cols, err := OutputColumns(model)
		if err != nil {
			t.Fatal(err)
		}
		if len(types) != len(cols) {
			t.Errorf("%s: %d typed columns for %d columns", model, len(types), len(cols))
		}
		for _, c := range cols {
			if _, ok := types[c]; !ok {
				t.Errorf("%s.%s has no type", model, c)
			}
		}
	}
}
