//go:build race

package sendgrid_test

func init() { raceEnabled = true }
