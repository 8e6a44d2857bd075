package models

import "fmt"

// sharedTables are the staging tables several models build. Their
// templates must not depend on the model being rendered (no .Model), so
// that every model renders them identically for the same Options.
var sharedTables = map[string]bool{
	"orders_clean": true,
	"data_quality": true,
}

// RenderModels renders several models for one run, in order, and keeps
// one copy of each shared staging table (Statement.Shared): the first,
// under the first model that needs it. A model named twice is rendered
// once. It fails if two models render a table of the same name
// differently.
func RenderModels(names []string, o Options) ([]Statement, error) {
	var out []Statement
	seen := map[string]Statement{}
	for _, name := range names {
		stmts, err := Render(name, o)
		if err != nil {
			return nil, err
		}
		for _, s := range stmts {
			prev, dup := seen[s.Name]
			switch {
			case !dup:
				seen[s.Name] = s
				out = append(out, s)
			case prev.SQL != s.SQL:
				return nil, fmt.Errorf("models %s and %s both materialise table %s, differently", prev.Model, s.Model, s.Name)
			}
		}
	}
	return out, nil
}
