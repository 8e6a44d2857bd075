package bigquery

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/googleapi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/segflow/segflow/core"
)

// Reasons BigQuery gives for failures worth running the job again:
// https://cloud.google.com/bigquery/docs/error-messages
var transientReasons = map[string]bool{
	"backendError":         true,
	"internalError":        true,
	"rateLimitExceeded":    true,
	"jobRateLimitExceeded": true,
	"jobInternalError":     true,
}

// Reasons that mean the statement itself was rejected.
var statementReasons = map[string]bool{
	"invalidQuery":             true,
	"invalid":                  true,
	"notFound":                 true,
	"duplicate":                true,
	"resourcesExceeded":        true,
	"bytesBilledLimitExceeded": true,
}

// positionPattern finds BigQuery's "[line:column]" in a message.
var positionPattern = regexp.MustCompile(`\[(\d+):(\d+)\]`)

// sqlError turns a rejected statement's message into a core.SQLError.
func sqlError(msg string) *core.SQLError {
	se := &core.SQLError{Message: msg}
	if m := positionPattern.FindAllStringSubmatch(msg, -1); m != nil {
		last := m[len(m)-1]
		se.Line, _ = strconv.Atoi(last[1])
		se.Column, _ = strconv.Atoi(last[2])
	}
	return se
}

// translate turns what the client returns into core errors: a cancelled
// context stays recognisable, rejected statements become *core.SQLError,
// and authentication and permission failures say so plainly.
func (w *Warehouse) translate(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%w: bigquery: %v", ctxErr, err)
	}
	var (
		jobErr *bigquery.Error
		apiErr *googleapi.Error
	)
	switch {
	case errors.As(err, &jobErr):
		return w.byReason(jobErr.Reason, 0, jobErr.Message, err)
	case errors.As(err, &apiErr):
		reason := ""
		if len(apiErr.Errors) > 0 {
			reason = apiErr.Errors[0].Reason
		}
		msg := apiErr.Message
		if msg == "" && len(apiErr.Errors) > 0 {
			msg = apiErr.Errors[0].Message
		}
		return w.byReason(reason, apiErr.Code, msg, err)
	}
	if st, ok := status.FromError(err); ok {
		switch st.Code() {
		case codes.Unauthenticated:
			return fmt.Errorf("bigquery: authentication failed reading results: %s", st.Message())
		case codes.PermissionDenied:
			return fmt.Errorf("bigquery: permission denied reading results through the Storage Read API (needs bigquery.readsessions.create, in role BigQuery Read Session User): %s", st.Message())
		}
	}
	return fmt.Errorf("bigquery: %w", err)
}

func (w *Warehouse) byReason(reason string, httpCode int, msg string, err error) error {
	w.mu.Lock()
	project := w.cfg.Project
	w.mu.Unlock()
	switch {
	case httpCode == 401 || reason == "authError" || reason == "unauthorized":
		return fmt.Errorf("bigquery: authentication failed (%s): %s; check credentials_file or the application default credentials", reason, msg)
	case reason == "accessDenied" || (httpCode == 403 && !transientReasons[reason] && reason != "quotaExceeded"):
		return fmt.Errorf("bigquery: permission denied (%s): %s; the credentials need to run jobs in project %s (role BigQuery Job User) and read the tables (BigQuery Data Viewer)", reason, msg, project)
	case statementReasons[reason]:
		return sqlError(msg)
	}
	return fmt.Errorf("bigquery: %w", err)
}
