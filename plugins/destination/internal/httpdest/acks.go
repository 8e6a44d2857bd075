package httpdest

import (
	"errors"
	"fmt"

	"github.com/segflow/segflow/core"
)

// RecordErr builds a record error; retryable says whether sending the
// record again later may succeed.
func RecordErr(code string, retryable bool, format string, args ...any) *core.RecordError {
	return &core.RecordError{Code: code, Message: fmt.Sprintf(format, args...), Retryable: retryable}
}

// Acks reports the rows of batch seq listed in rows with the same
// outcome (err nil: acknowledged).
func Acks(seq int64, rows []int, err *core.RecordError) []core.Ack {
	out := make([]core.Ack, len(rows))
	for k, i := range rows {
		out[k] = core.Ack{Seq: seq, Index: i, Err: err}
	}
	return out
}

// RequestFailed turns a request's failure into the error of each record
// it carried: code "http_<status>" (or "network") with the request's
// message, retryable as the failure is. Use it when a vendor refuses a
// whole request for reasons that are the records' own (a 400 for the
// batch); a failure of the destination itself (bad key, retries run out
// on a 5xx storm) should rather fail the write.
func RequestFailed(err error) *core.RecordError {
	var he *Error
	if errors.As(err, &he) {
		code := "network"
		if he.Status != 0 {
			code = fmt.Sprintf("http_%d", he.Status)
		}
		return &core.RecordError{Code: code, Message: he.Error(), Retryable: he.Retryable}
	}
	return &core.RecordError{Code: "request_failed", Message: err.Error(), Retryable: true}
}
