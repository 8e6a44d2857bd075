//go:build race

package hubspot_test

func init() { raceEnabled = true }
