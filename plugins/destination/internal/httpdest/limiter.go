package httpdest

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Window is a limit of Requests per Per, as vendors state their steady
// limits ("150 per minute"). The limiter keeps it as a sliding window,
// which is at least as strict as the fixed or sliding windows servers
// count with, so a window-limited sender is never told 429 by a server
// that keeps the same limit.
type Window struct {
	Requests int
	Per      time.Duration
}

// Limits are a vendor's declared limits. Zero values mean no limit.
type Limits struct {
	// RequestsPerSecond and Burst feed a token bucket
	// (golang.org/x/time/rate); Burst defaults to 1.
	RequestsPerSecond float64
	Burst             int
	// Concurrency caps requests outstanding at once (Mailchimp: 10).
	Concurrency int
	// Windows are further limits each request must fit, such as
	// Klaviyo's steady 150/min next to its burst 10/s.
	Windows []Window
}

// Limiter paces every request of one API key, shared by all its senders.
// It honours the declared Limits and what the server signals: after
// Pause (a 429's Retry-After, a rate-limit reset header) no request
// starts until the pause is over.
type Limiter struct {
	bucket  *rate.Limiter // nil: no rate limit
	sem     chan struct{} // nil: no concurrency limit
	windows []*window

	mu          sync.Mutex // guards pausedUntil, windows and gen
	pausedUntil time.Time
	gen         uint64
}

// window is a sliding log of the send times of the last Requests
// requests.
type window struct {
	Window
	times []stamp // ring, oldest at next; guarded by Limiter.mu
	next  int
}

// stamp is one request in a window; gen tells a reused entry apart.
type stamp struct {
	at  time.Time
	gen uint64
}

// slot is where a request's stamp sits in a window.
type slot struct {
	index int
	gen   uint64
}

// windowSlack is added to a window's length for clock granularity; the
// network's delays are covered by counting from the response (see done).
const windowSlack = 5 * time.Millisecond

// NewLimiter returns a limiter for l.
func NewLimiter(l Limits) *Limiter {
	lim := &Limiter{}
	if l.RequestsPerSecond > 0 {
		lim.bucket = rate.NewLimiter(rate.Limit(l.RequestsPerSecond), max(l.Burst, 1))
	}
	if l.Concurrency > 0 {
		lim.sem = make(chan struct{}, l.Concurrency)
	}
	for _, w := range l.Windows {
		if w.Requests > 0 && w.Per > 0 {
			lim.windows = append(lim.windows, &window{Window: w})
		}
	}
	return lim
}

// Acquire waits until a request may start and returns the function to
// call when its response has been read. It fails only when ctx ends.
func (l *Limiter) Acquire(ctx context.Context) (release func(), err error) {
	if l == nil {
		return func() {}, nil
	}
	if l.sem != nil {
		select {
		case l.sem <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	unlock := func() {
		if l.sem != nil {
			<-l.sem
		}
	}
	if err := sleep(ctx, time.Until(l.PausedUntil())); err != nil {
		unlock()
		return nil, err
	}
	if l.bucket != nil {
		if err := l.bucket.Wait(ctx); err != nil {
			unlock()
			return nil, err
		}
	}
	for {
		slots, wait := l.take(time.Now())
		if wait <= 0 {
			return func() {
				l.done(slots, time.Now())
				unlock()
			}, nil
		}
		if err := sleep(ctx, wait); err != nil {
			unlock()
			return nil, err
		}
	}
}

// take admits a request at now if no pause holds it and every window
// has room, recording it in all windows at once (so a request waiting on
// one window does not hold a slot of another); otherwise it returns how
// long to wait before trying again.
func (l *Limiter) take(now time.Time) ([]slot, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	if now.Before(l.pausedUntil) {
		wait = l.pausedUntil.Sub(now)
	}
	for _, w := range l.windows {
		if len(w.times) == w.Requests {
			if free := w.times[w.next].at.Add(w.Per + windowSlack); now.Before(free) {
				wait = max(wait, free.Sub(now))
			}
		}
	}
	if wait > 0 {
		return nil, wait
	}
	slots := make([]slot, len(l.windows))
	for k, w := range l.windows {
		l.gen++
		if len(w.times) < w.Requests {
			w.times = append(w.times, stamp{now, l.gen})
			slots[k] = slot{len(w.times) - 1, l.gen}
			continue
		}
		w.times[w.next] = stamp{now, l.gen}
		slots[k] = slot{w.next, l.gen}
		w.next = (w.next + 1) % w.Requests
	}
	return slots, 0
}

// done moves a finished request's window entries to the time its
// response arrived. The server counted the request when it arrived,
// somewhere between the send and the response; counting the window from
// the response on means network delays can never squeeze more than the
// window's requests into the server's view of it.
func (l *Limiter) done(slots []slot, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, s := range slots {
		w := l.windows[k]
		if e := &w.times[s.index]; e.gen == s.gen && now.After(e.at) {
			e.at = now
		}
	}
}

// Pause holds every request until t (a later pause extends an earlier
// one, an earlier one changes nothing).
func (l *Limiter) Pause(until time.Time) {
	if l == nil {
		return
	}
	l.mu.Lock()
	if until.After(l.pausedUntil) {
		l.pausedUntil = until
	}
	l.mu.Unlock()
}

// PausedUntil is the end of the current pause (zero or past: none).
func (l *Limiter) PausedUntil() time.Time {
	if l == nil {
		return time.Time{}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pausedUntil
}

// Observe applies the rate-limit headers of a response: when the server
// says no request remains in its window, every sender pauses until the
// window resets. It returns the pause's end, or zero.
func (l *Limiter) Observe(h http.Header, now time.Time) time.Time {
	until := ResetFromHeaders(h, now)
	if !until.IsZero() {
		l.Pause(until)
	}
	return until
}

// ResetFromHeaders reads the rate-limit headers vendors send and returns
// when the server's window resets if it says none remain, else zero:
//   - X-RateLimit-Remaining / X-RateLimit-Reset (Braze, SendGrid): the
//     reset is a Unix time in seconds;
//   - RateLimit-Remaining / RateLimit-Reset (Klaviyo, the IETF draft):
//     the reset is seconds from now.
//
// Either reset value above 10^9 is taken as a Unix time, below as
// seconds from now, since vendors mix the two up.
func ResetFromHeaders(h http.Header, now time.Time) time.Time {
	for _, prefix := range []string{"X-RateLimit-", "RateLimit-"} {
		rem := strings.TrimSpace(h.Get(prefix + "Remaining"))
		reset := strings.TrimSpace(h.Get(prefix + "Reset"))
		if rem == "" || reset == "" {
			continue
		}
		n, err := strconv.ParseFloat(rem, 64)
		if err != nil || n > 0 {
			continue
		}
		if t, ok := parseReset(reset, now); ok {
			return t
		}
	}
	return time.Time{}
}

func parseReset(v string, now time.Time) (time.Time, bool) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 {
		return time.Time{}, false
	}
	if f > 1e9 {
		return time.Unix(0, int64(f*1e9)), true
	}
	return now.Add(time.Duration(f * float64(time.Second))), true
}

// RetryAfter parses a Retry-After header: delay seconds or an HTTP-date.
// ok is false when the header is absent or malformed.
func RetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(secs * float64(time.Second)), true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
