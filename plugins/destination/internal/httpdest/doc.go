// Package httpdest is what every HTTP vendor destination (Mailchimp,
// Klaviyo, Braze, SendGrid, HubSpot, Customer.io, webhooks) shares: pacing
// under the vendor's limits, retries, a JSON client, and the per-record
// helpers that turn Arrow rows into vendor payloads.
//
// # Pacing: Limiter
//
// NewLimiter(Limits{...}) builds one limiter per API key, shared by every
// goroutine sending with that key. Acquire(ctx) waits until a request may
// start and returns a release func to call once its response is read.
// It combines
//   - the declared rate: RequestsPerSecond + Burst, a token bucket
//     (golang.org/x/time/rate);
//   - a concurrency cap: Concurrency, a semaphore (Mailchimp's 10
//     connections);
//   - windows: Windows []Window{{Requests, Per}}, each a sliding window
//     (Klaviyo's burst 10/s plus steady 150/min is Windows {10, 1s} and
//     {150, 1m}; prefer windows to the token bucket whenever the vendor
//     counts per window, as a bucket's refill can exceed a window).
//     A request's place in a window counts from its response, so network
//     delay never makes the server see more than the window allows, and a
//     request is admitted to all windows at once, so waiting on one
//     window wastes no slot of another;
//   - what the server signals: Pause(until) holds every sender; Observe
//     (called by Client on every response) pauses until the reset when
//     X-RateLimit-Remaining (reset: Unix seconds; Braze, SendGrid) or
//     RateLimit-Remaining (reset: seconds from now; Klaviyo) is 0.
//
// # Requests: Client
//
// Client{BaseURL, Header, Limiter, Retry, Secrets} sends JSON. Do(ctx,
// method, path, body, out) marshals body (or sends a []byte as is),
// retries, and decodes a 2xx body into out; any other final status is an
// *Error (Status, Message from the vendor's error body via ErrorMessage,
// Retryable). Send is the same but returns the final response whatever
// its status, for APIs that answer per-record problems with a 4xx/207.
//
// Retries: network errors, 408 and 5xx up to Retry.MaxAttempts (default
// 10) failed tries, and 429s, all within Retry.MaxElapsed (default 5 min
// from the first try), with exponential backoff and full jitter
// (BaseDelay 200ms doubling to MaxDelay 30s). A 429 waits its
// Retry-After (seconds or HTTP-date), else the rate-limit reset headers,
// else the backoff, and pauses the whole Limiter for that time, so other
// senders do not keep hitting the limit; 429s do not use up MaxAttempts.
// Retrying a POST is safe for the vendor calls here (upserts and set
// operations); a caller with a non-idempotent call should use a Retry
// with MaxAttempts 1.
// Every wait honours ctx; a cancelled request returns an error wrapping
// ctx.Err(). Error texts pass through Secrets redaction: the key never
// appears in them (keys belong in headers, never in URLs). Stats() counts
// attempts and 429s.
//
// # Writes
//
// RunOps(ctx, ops, workers, handle) is the body of a Write that sends one
// request per batch: up to workers batches at once, the next op received
// only when a worker is free, every batch released, the first handler
// error (or ctx) ending the write. Handlers ack their own records.
//
// # Records
//
//   - Column, StringAt (core.FormatValue text, false for NULL) and
//     JSONValueAt (typed JSON value; dates as YYYY-MM-DD, timestamps RFC
//     3339) read Arrow columns.
//   - Mapping (segment column -> vendor field, from config) binds to a
//     write's schema with Bind; BoundMapping.Values / StringValues give a
//     row's fields, leaving NULLs out so they never clear vendor data.
//   - NormalizeEmail (trim, lower-case, shape check) and NormalizePhone
//     (E.164 with a configurable default country calling code; the rule
//     is on the function) normalise identities; ValidCountryCode checks
//     the configured code.
//   - RecordErr, Acks and RequestFailed build acknowledgements.
package httpdest
