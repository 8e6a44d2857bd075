package standinkit

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestGate(t *testing.T) {
	g := NewGate(1, 2, 1)
	ok, wait := g.Allow()
	require.False(t, ok, "the storm's one request")
	require.Equal(t, time.Second, wait)
	for range 2 {
		ok, _ = g.Allow()
		require.True(t, ok, "the bucket's burst of 2")
	}
	ok, wait = g.Allow()
	require.False(t, ok)
	require.InDelta(t, time.Second, wait, float64(50*time.Millisecond), "one token per second")
	require.Equal(t, int64(2), g.Refused.Load())

	stop := g.StartStorm()
	time.Sleep(1100 * time.Millisecond)
	ok, _ = g.Allow()
	require.False(t, ok, "storming refuses even with a token")
	stop()
	ok, _ = g.Allow()
	require.True(t, ok)
}

func TestWindowGate(t *testing.T) {
	g := NewWindowGate(3, time.Hour, 0)
	for range 3 {
		ok, _ := g.Allow()
		require.True(t, ok)
	}
	require.Zero(t, g.Remaining())
	ok, wait := g.Allow()
	require.False(t, ok)
	require.Equal(t, g.Reset(), time.Now().Truncate(time.Hour).Add(time.Hour))
	require.Positive(t, wait)
	require.Equal(t, 1, RetryAfterSeconds(10*time.Millisecond))
	require.Equal(t, 3, RetryAfterSeconds(2100*time.Millisecond))
}
