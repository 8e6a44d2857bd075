package httpdest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/core"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2015, 10, 21, 7, 27, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"120", 120 * time.Second, true},
		{" 3 ", 3 * time.Second, true},
		{"0", 0, true},
		// RFC 9110's example date, a minute after now.
		{"Wed, 21 Oct 2015 07:28:00 GMT", time.Minute, true},
		// A date in the past: retry at once.
		{"Wed, 21 Oct 2015 07:00:00 GMT", 0, true},
		{"", 0, false},
		{"soon", 0, false},
		{"-5", 0, false},
	}
	for _, c := range cases {
		got, ok := RetryAfter(c.in, now)
		require.Equal(t, c.ok, ok, "%q", c.in)
		require.Equal(t, c.want, got, "%q", c.in)
	}
}

func TestResetFromHeaders(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	h := http.Header{}
	require.True(t, ResetFromHeaders(h, now).IsZero(), "no headers, no pause")

	// Braze: X-RateLimit-Reset is a Unix time.
	h.Set("X-RateLimit-Limit", "3000")
	h.Set("X-RateLimit-Remaining", "0")
	h.Set("X-RateLimit-Reset", "1700000060")
	require.Equal(t, time.Unix(1_700_000_060, 0), ResetFromHeaders(h, now))

	h.Set("X-RateLimit-Remaining", "12")
	require.True(t, ResetFromHeaders(h, now).IsZero(), "requests remain: no pause")

	// Klaviyo: RateLimit-Reset is seconds from now.
	h = http.Header{}
	h.Set("RateLimit-Limit", "10")
	h.Set("RateLimit-Remaining", "0")
	h.Set("RateLimit-Reset", "30")
	require.Equal(t, now.Add(30*time.Second), ResetFromHeaders(h, now))
}

func TestLimiterRate(t *testing.T) {
	// 20/s with a burst of 1: 11 requests span 10 intervals of 50 ms.
	l := NewLimiter(Limits{RequestsPerSecond: 20, Burst: 1})
	start := time.Now()
	for range 11 {
		release, err := l.Acquire(context.Background())
		require.NoError(t, err)
		release()
	}
	el := time.Since(start)
	require.GreaterOrEqual(t, el, 450*time.Millisecond)
	require.Less(t, el, 1500*time.Millisecond)
}

func TestLimiterConcurrency(t *testing.T) {
	l := NewLimiter(Limits{Concurrency: 3})
	var cur, peak atomic.Int64
	var wg sync.WaitGroup
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, err := l.Acquire(context.Background())
			require.NoError(t, err)
			n := cur.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			time.Sleep(20 * time.Millisecond)
			cur.Add(-1)
			release()
		}()
	}
	wg.Wait()
	require.Equal(t, int64(3), peak.Load())
}

func TestLimiterWindow(t *testing.T) {
	// 5 per 200 ms: requests 1-5 at once, 6-10 a window later, 11 two
	// windows later.
	l := NewLimiter(Limits{Windows: []Window{{Requests: 5, Per: 200 * time.Millisecond}}})
	start := time.Now()
	var at []time.Duration
	for range 11 {
		release, err := l.Acquire(context.Background())
		require.NoError(t, err)
		release()
		at = append(at, time.Since(start))
	}
	require.Less(t, at[4], 100*time.Millisecond)
	require.GreaterOrEqual(t, at[5], 200*time.Millisecond)
	require.Less(t, at[9], 350*time.Millisecond)
	require.GreaterOrEqual(t, at[10], 400*time.Millisecond)
}

func TestLimiterPauseAndCancel(t *testing.T) {
	l := NewLimiter(Limits{})
	start := time.Now()
	l.Pause(start.Add(150 * time.Millisecond))
	release, err := l.Acquire(context.Background())
	require.NoError(t, err)
	release()
	require.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)

	l.Pause(time.Now().Add(time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = l.Acquire(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

const key = "0123456789abcdef0123456789abcdef-us6"

func TestClient429RetryAfter(t *testing.T) {
	var n atomic.Int64
	var times []time.Time
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		times = append(times, time.Now())
		mu.Unlock()
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		fmt.Fprint(w, `{"ok": true}`)
	}))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL, Limiter: NewLimiter(Limits{})}
	var out struct{ OK bool }
	_, err := c.Do(context.Background(), "POST", "/x", map[string]int{"a": 1}, &out)
	require.NoError(t, err)
	require.True(t, out.OK)
	require.Len(t, times, 2)
	require.GreaterOrEqual(t, times[1].Sub(times[0]), 950*time.Millisecond, "the retry waits Retry-After")
	req, throttled := c.Stats()
	require.Equal(t, int64(2), req)
	require.Equal(t, int64(1), throttled)
}

func TestClient429ResetPausesEverySender(t *testing.T) {
	// Braze style: 429 with X-RateLimit-Reset, a Unix time, no Retry-After.
	var throttledUntil atomic.Int64
	var early atomic.Int64
	var first atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		if first.CompareAndSwap(false, true) {
			reset := now.Unix() + 1
			throttledUntil.Store(reset)
			w.Header().Set("X-RateLimit-Limit", "10")
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"message": "rate limited"}`)
			return
		}
		if now.Unix() < throttledUntil.Load() {
			early.Add(1)
		}
		fmt.Fprint(w, `{}`)
	}))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL, Limiter: NewLimiter(Limits{Concurrency: 1})}
	_, err := c.Do(context.Background(), "POST", "/users/track", []byte(`{}`), nil)
	require.NoError(t, err)
	// A second sender after the 429 waits for the reset too.
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Do(context.Background(), "GET", "/y", nil, nil)
			require.NoError(t, err)
		}()
	}
	wg.Wait()
	require.Zero(t, early.Load(), "no request before the reset")
}

func TestClientErrors(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		switch r.URL.Path {
		case "/bad":
			// A vendor echoing the credential it was given.
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"type":"x","title":"API Key Invalid","status":401,"detail":"Your API key %s may be invalid","instance":"i"}`, r.Header.Get("X-Key"))
		case "/down":
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"errors":[{"status":503,"code":"unavailable","title":"Service unavailable","detail":"try later"}]}`)
		}
	}))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL, Header: http.Header{"X-Key": {key}}, Secrets: []string{key},
		Retry: Retry{MaxAttempts: 3, BaseDelay: time.Millisecond}}

	_, err := c.Do(context.Background(), "GET", "/bad", nil, nil)
	require.Error(t, err)
	require.Equal(t, http.StatusUnauthorized, StatusOf(err))
	require.Contains(t, err.Error(), "API Key Invalid")
	require.NotContains(t, err.Error(), key)
	require.Equal(t, int64(1), calls.Load(), "a 401 is not retried")

	calls.Store(0)
	_, err = c.Do(context.Background(), "POST", "/down", []byte(`{}`), nil)
	var he *Error
	require.ErrorAs(t, err, &he)
	require.True(t, he.Retryable)
	require.Equal(t, 3, he.Attempts)
	require.Equal(t, int64(3), calls.Load(), "a 503 is retried up to MaxAttempts")
	require.Contains(t, err.Error(), "Service unavailable: try later")
}

func TestClientNetworkErrorAndCancel(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	url := srv.URL
	srv.Close()
	c := &Client{BaseURL: url, Retry: Retry{MaxAttempts: 2, BaseDelay: time.Millisecond}}
	_, err := c.Do(context.Background(), "GET", "/x", nil, nil)
	var he *Error
	require.ErrorAs(t, err, &he)
	require.Zero(t, he.Status)
	require.True(t, he.Retryable)

	// A 429 storm ends when ctx does.
	storm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer storm.Close()
	c = &Client{BaseURL: storm.URL, Limiter: NewLimiter(Limits{})}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.Do(ctx, "GET", "/x", nil, nil)
	require.True(t, errors.Is(err, context.DeadlineExceeded), "got %v", err)
	require.Less(t, time.Since(start), 2*time.Second)
}

func TestErrorMessage(t *testing.T) {
	cases := map[string]string{
		`{"type":"t","title":"Resource Not Found","status":404,"detail":"The requested resource could not be found."}`: "Resource Not Found: The requested resource could not be found.",
		`{"errors":[{"status":400,"code":"invalid","title":"Invalid input.","detail":"bad email"}]}`:                   "Invalid input.: bad email",
		`{"message":"Invalid API key"}`:                             "Invalid API key",
		`{"meta":{"error":"invalid id"}}`:                           "invalid id",
		`{"errors":[{"field":null,"message":"too many requests"}]}`: "too many requests",
		`<html>oops</html>`:                                         "<html>oops</html>",
	}
	for in, want := range cases {
		require.Equal(t, want, ErrorMessage([]byte(in)), in)
	}
}

func TestNormalizeEmail(t *testing.T) {
	got, err := NormalizeEmail("  John.Doe@Example.COM ")
	require.NoError(t, err)
	require.Equal(t, "john.doe@example.com", got)
	for _, bad := range []string{"", "john", "john@example", "a@@example.com", "a@b@example.com", "@example.com", "a b@example.com", "a@.example.com", "a@example.com.", "a@exa..mple.com"} {
		_, err := NormalizeEmail(bad)
		require.Error(t, err, "%q", bad)
	}
}

func TestNormalizePhone(t *testing.T) {
	cases := []struct{ in, cc, want string }{
		{"+1 (415) 555-2671", "", "+14155552671"},
		{"+1 (415) 555-2671", "44", "+14155552671"},
		{"0044 20 7946 0018", "", "+442079460018"},
		{"020 7946 0018", "44", "+442079460018"},
		{"020 7946 0018", "+44", "+442079460018"},
		{"(415) 555.2671", "1", "+14155552671"},
	}
	for _, c := range cases {
		got, err := NormalizePhone(c.in, c.cc)
		require.NoError(t, err, "%q", c.in)
		require.Equal(t, c.want, got, "%q", c.in)
	}
	for _, bad := range [][2]string{{"020 7946 0018", ""}, {"+1 415 555 2671 ext 3", ""}, {"+123", ""}, {"+1234567890123456", ""}, {"+0123456789", ""}} {
		_, err := NormalizePhone(bad[0], bad[1])
		require.Error(t, err, "%q", bad[0])
	}
	require.True(t, ValidCountryCode("+44"))
	require.True(t, ValidCountryCode("1"))
	require.False(t, ValidCountryCode("0"))
	require.False(t, ValidCountryCode("4444"))
	require.False(t, ValidCountryCode("x"))
}

func TestMapping(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "customer_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "rfm", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "since", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{7, 8}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"555", ""}, []bool{true, false})
	b.Field(2).(*array.Float64Builder).AppendValues([]float64{1.5, 0}, []bool{true, false})
	b.Field(3).(*array.Date32Builder).AppendValues([]arrow.Date32{arrow.Date32FromTime(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)), 0}, []bool{true, false})
	rec := b.NewRecordBatch()
	defer rec.Release()

	m, err := Mapping{"rfm": "RFM", "score": "SCORE", "since": "SINCE", "customer_id": "CID"}.Bind(schema)
	require.NoError(t, err)
	require.Equal(t, map[string]any{"RFM": "555", "SCORE": 1.5, "SINCE": "2024-03-01", "CID": int64(7)}, m.Values(rec, 0))
	require.Equal(t, map[string]any{"CID": int64(8)}, m.Values(rec, 1), "NULLs are left out")
	require.Equal(t, map[string]string{"RFM": "555", "SCORE": "1.50", "SINCE": "2024-03-01", "CID": "7"}, m.StringValues(rec, 0))

	_, err = Mapping{"stage": "STAGE"}.Bind(schema)
	require.ErrorContains(t, err, `no column "stage"`)
}

func TestLimiterWindowCountsFromResponse(t *testing.T) {
	// 2 per 200 ms; both first requests take 100 ms to answer, so the
	// server may have counted them as late as 100 ms: the third waits
	// until 300 ms, not 200 ms.
	l := NewLimiter(Limits{Windows: []Window{{Requests: 2, Per: 200 * time.Millisecond}}})
	start := time.Now()
	r1, err := l.Acquire(context.Background())
	require.NoError(t, err)
	r2, err := l.Acquire(context.Background())
	require.NoError(t, err)
	time.Sleep(100 * time.Millisecond)
	r1()
	r2()
	r3, err := l.Acquire(context.Background())
	require.NoError(t, err)
	r3()
	require.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond)
}

func TestRunOps(t *testing.T) {
	// Three workers: never more at once; a handler's error ends the run.
	ops := make(chan core.Op)
	var cur, peak atomic.Int64
	go func() {
		for i := range 10 {
			ops <- core.Op{Kind: core.Upsert, Seq: int64(i + 1), Batch: emptyBatch()}
		}
		close(ops)
	}()
	err := RunOps(context.Background(), ops, 3, func(ctx context.Context, op core.Op) error {
		n := cur.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(10 * time.Millisecond)
		cur.Add(-1)
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, int64(3), peak.Load())

	ops = make(chan core.Op, 1)
	ops <- core.Op{Kind: core.Upsert, Seq: 1, Batch: emptyBatch()}
	boom := errors.New("boom")
	err = RunOps(context.Background(), ops, 3, func(ctx context.Context, op core.Op) error { return boom })
	require.ErrorIs(t, err, boom, "the handler's error ends the run although ops stays open")
}

func emptyBatch() arrow.RecordBatch {
	schema := arrow.NewSchema([]arrow.Field{{Name: "customer_id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	return b.NewRecordBatch()
}

func TestClient429sDoNotUseUpAttempts(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 15 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		fmt.Fprint(w, `{}`)
	}))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL, Limiter: NewLimiter(Limits{}), Retry: Retry{MaxAttempts: 3}}
	_, err := c.Do(context.Background(), "POST", "/x", []byte(`{}`), nil)
	require.NoError(t, err, "15 429s then success, with MaxAttempts 3")
	require.Equal(t, int64(16), n.Load())

	// Without a hint, 429s back off and still end at MaxElapsed.
	srv2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"title": "Too Many Requests", "detail": "You have exceeded the limit of 10 simultaneous connections."}`)
	}))
	defer srv2.Close()
	c = &Client{BaseURL: srv2.URL, Limiter: NewLimiter(Limits{}), Retry: Retry{BaseDelay: 10 * time.Millisecond, MaxElapsed: 300 * time.Millisecond}}
	start := time.Now()
	_, err = c.Do(context.Background(), "POST", "/x", []byte(`{}`), nil)
	require.Equal(t, http.StatusTooManyRequests, StatusOf(err))
	require.ErrorContains(t, err, "simultaneous connections")
	require.Less(t, time.Since(start), 2*time.Second)
}
