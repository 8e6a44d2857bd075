// Package jobs runs segflow's jobs: a job refreshes models, materialises
// segments and publishes them, in that order, against one warehouse. The
// Runner is what `segflow run` calls.
package jobs
