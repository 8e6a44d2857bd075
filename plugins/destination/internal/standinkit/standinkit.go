// Package standinkit holds what the vendor stand-in servers of the
// webhook, sendgrid, hubspot and customerio destinations share: a request
// gate that answers 429 the way a rate-limited API does (a token bucket,
// plus a "storm" knob that refuses the next N requests), and the counters
// a test or benchmark reads. Each stand-in still writes its vendor's own
// 429 body and headers.
package standinkit

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Gate admits or refuses requests.
type Gate struct {
	mu     sync.Mutex
	rate   float64 // tokens per second; 0 = unlimited
	burst  float64
	tokens float64
	last   time.Time
	storm  int
	// storming refuses every request (StartStorm).
	storming bool
	// Fixed-window mode (per > 0): at most limit requests in each window
	// of length per, windows aligned to the Unix epoch.
	per         time.Duration
	limit       int
	windowStart time.Time
	used        int

	// Refused counts requests answered with 429.
	Refused atomic.Int64
}

// NewGate returns a gate allowing rate requests per second with burst
// (at least 1), refusing the first storm requests outright.
func NewGate(rate float64, burst, storm int) *Gate {
	if burst < 1 {
		burst = 1
	}
	return &Gate{rate: rate, burst: float64(burst), tokens: float64(burst), last: time.Now(), storm: storm}
}

// NewWindowGate returns a gate allowing limit requests in each fixed
// window of length per (aligned to the Unix epoch, as X-RateLimit-Reset
// headers count), refusing the first storm requests outright.
func NewWindowGate(limit int, per time.Duration, storm int) *Gate {
	return &Gate{per: per, limit: limit, storm: storm}
}

// Storm makes the next n requests be refused.
func (g *Gate) Storm(n int) {
	g.mu.Lock()
	g.storm = n
	g.mu.Unlock()
}

// StartStorm refuses every request until stop is called.
func (g *Gate) StartStorm() (stop func()) {
	g.mu.Lock()
	g.storming = true
	g.mu.Unlock()
	return func() {
		g.mu.Lock()
		g.storming = false
		g.mu.Unlock()
	}
}

// Allow takes a token. When it refuses it says how long until a request
// would be admitted (at least one second during a storm, as Retry-After
// counts whole seconds).
func (g *Gate) Allow() (ok bool, wait time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.storming {
		g.Refused.Add(1)
		return false, time.Second
	}
	if g.storm > 0 {
		g.storm--
		g.Refused.Add(1)
		return false, time.Second
	}
	now := time.Now()
	if g.per > 0 {
		g.roll(now)
		if g.used < g.limit {
			g.used++
			return true, 0
		}
		g.Refused.Add(1)
		return false, g.windowStart.Add(g.per).Sub(now)
	}
	if g.rate <= 0 {
		return true, 0
	}
	g.tokens = math.Min(g.burst, g.tokens+now.Sub(g.last).Seconds()*g.rate)
	g.last = now
	if g.tokens >= 1 {
		g.tokens--
		return true, 0
	}
	g.Refused.Add(1)
	return false, time.Duration((1 - g.tokens) / g.rate * float64(time.Second))
}

func (g *Gate) roll(now time.Time) {
	start := now.Truncate(g.per)
	if !start.Equal(g.windowStart) {
		g.windowStart, g.used = start, 0
	}
}

// Remaining is the requests left (whole tokens, or what the current
// window has left), for X-RateLimit-Remaining headers.
func (g *Gate) Remaining() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.per > 0 {
		g.roll(time.Now())
		return g.limit - g.used
	}
	return int(g.tokens)
}

// Reset is when the current fixed window ends (zero for a token bucket).
func (g *Gate) Reset() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.per == 0 {
		return time.Time{}
	}
	g.roll(time.Now())
	return g.windowStart.Add(g.per)
}

// RetryAfterSeconds rounds a wait up to the whole seconds a Retry-After
// header carries, at least 1.
func RetryAfterSeconds(wait time.Duration) int {
	return max(1, int(math.Ceil(wait.Seconds())))
}

// Counters are a stand-in's tallies of records.
type Counters struct {
	// Accepted counts upserted records the stand-in applied, repeats
	// included (removes and list or segment membership calls are not
	// counted).
	Accepted atomic.Int64
	// Duplicates counts accepted records that changed nothing: the same
	// attributes again, or a batch replayed.
	Duplicates atomic.Int64
	// Rejected counts records refused on purpose (a fault knob).
	Rejected atomic.Int64
	// Requests counts requests answered, including refused ones.
	Requests atomic.Int64
}
