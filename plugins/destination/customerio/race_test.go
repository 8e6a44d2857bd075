//go:build race

package customerio_test

func init() { raceEnabled = true }
