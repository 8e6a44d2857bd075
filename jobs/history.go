package jobs

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/segflow/segflow/config"
	"github.com/segflow/segflow/core/state"
	"github.com/segflow/segflow/jobs/schedule"
)

// OpenState opens the config's state store: a SQLite file relative to
// the config file, or a postgres:// URL.
func OpenState(ctx context.Context, cfg *config.Config) (state.Store, error) {
	dsn := cfg.State.DSN
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") && !filepath.IsAbs(dsn) {
		dsn = cfg.Resolve(dsn)
	}
	st, err := state.Open(ctx, dsn)
	if err != nil {
		return nil, cfg.Errorf("state.dsn", "open state store: %v", err)
	}
	return st, nil
}

var catchUps = map[string]schedule.CatchUp{"one": schedule.CatchUpOne, "none": schedule.CatchUpNone, "all": schedule.CatchUpAll}

// ScheduleJobs turns the config's jobs into the scheduler's, parsing each
// cron expression in the config's time zone.
func ScheduleJobs(cfg *config.Config) ([]schedule.Job, error) {
	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		return nil, cfg.Errorf("timezone", "%v", err)
	}
	var out []schedule.Job
	var errs []error
	for i, j := range cfg.Jobs {
		sj := schedule.Job{Name: j.Name, CatchUp: catchUps[j.CatchUp], Retries: j.Retries, Backoff: j.Backoff, Timeout: j.Timeout}
		if j.Schedule != "" {
			if sj.Schedule, err = schedule.Parse(j.Schedule, loc); err != nil {
				errs = append(errs, cfg.Errorf(fmt.Sprintf("jobs[%d].schedule", i), "%v", err))
			}
		}
		out = append(out, sj)
	}
	return out, errors.Join(errs...)
}

// RunFunc returns the scheduler's RunFunc for r: it runs the job and
// records each step in the run's history. onSummary, if set, sees every
// finished run's summary.
func (r *Runner) RunFunc(store state.Store, onSummary func(*Summary, error)) schedule.RunFunc {
	return func(ctx context.Context, job string, _ time.Time, _ string) error {
		sum, err := r.Run(ctx, job, false)
		if run, ok := schedule.RunFromContext(ctx); ok && sum != nil {
			for _, s := range sum.Steps {
				// History is best effort: a step that cannot be recorded
				// must not fail a run whose data work succeeded.
				st := state.Step{
					Kind: s.Kind, Name: s.Name, Rows: s.Rows, BytesScanned: max(s.BytesScanned, 0),
					DurationMs: s.Duration.Milliseconds(), Error: s.Err, SQL: s.SQL,
					StartedAt: s.Started,
				}
				if s.Sync != nil {
					st.Detail = strings.Join(slices.DeleteFunc([]string{s.Sync.String(), s.Note}, func(v string) bool { return v == "" }), "; ")
				}
				_ = store.AddStep(ctx, run.ID, st)
			}
		}
		if onSummary != nil {
			onSummary(sum, err)
		}
		var fe *config.FieldError
		if errors.As(err, &fe) {
			return schedule.Permanent(err) // a config problem does not get better by retrying
		}
		return err
	}
}
