//go:build race

package webhook_test

func init() { raceEnabled = true }
