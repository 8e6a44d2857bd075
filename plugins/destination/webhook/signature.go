package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Headers of a webhook request.
const (
	// HeaderTimestamp carries the request's Unix time in seconds.
	HeaderTimestamp = "X-Segflow-Timestamp"
	// HeaderSignature carries "v1=" and the hex HMAC-SHA256 signature.
	HeaderSignature = "X-Segflow-Signature"
	// HeaderBatchID repeats the body's batch_id for receivers that
	// deduplicate before parsing the body.
	HeaderBatchID = "X-Segflow-Batch-Id"
)

// DefaultTolerance is the replay window Verify is meant to be used with.
const DefaultTolerance = 5 * time.Minute

// Sign returns the signature header value for body sent at timestamp:
// "v1=" + hex(HMAC-SHA256(secret, timestamp + "." + body)).
func Sign(secret []byte, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write([]byte("."))
	mac.Write(body)
	return "v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Verification failures.
var (
	ErrBadTimestamp = errors.New("webhook: timestamp header is not a Unix time in seconds")
	ErrStale        = errors.New("webhook: timestamp is outside the replay window")
	ErrBadSignature = errors.New("webhook: signature does not match")
)

// Verify checks a webhook request as a receiver must: timestamp is the
// X-Segflow-Timestamp header, signature the X-Segflow-Signature header,
// body the raw request body (before any parsing). It fails when the
// timestamp is more than tolerance away from now (a replayed or delayed
// request) or when no "v1=" signature in the header matches; the header
// may hold several comma-separated signatures, as during a secret
// rotation. The comparison is constant-time.
func Verify(secret []byte, timestamp string, body []byte, signature string, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(strings.TrimSpace(timestamp), 10, 64)
	if err != nil {
		return ErrBadTimestamp
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	want := []byte(Sign(secret, strings.TrimSpace(timestamp), body))
	for _, s := range strings.Split(signature, ",") {
		if hmac.Equal([]byte(strings.TrimSpace(s)), want) {
			return nil
		}
	}
	return ErrBadSignature
}
