package snowflake

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	sf "github.com/snowflakedb/gosnowflake"

	"github.com/segflow/segflow/core"
)

// positionPattern finds Snowflake's position phrase; its position counts
// from 0.
var positionPattern = regexp.MustCompile(`error line (\d+) at position (\d+)`)

// translate turns the driver's errors into core errors: a cancelled
// context stays recognisable, rejected statements become *core.SQLError
// and failed logins say so plainly.
func translate(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%w: snowflake: %v", ctxErr, err)
	}
	var se *sf.SnowflakeError
	if !errors.As(err, &se) {
		return fmt.Errorf("snowflake: %w", err)
	}
	switch {
	case se.Number >= 390000 && se.Number < 391000:
		// 390100 wrong password, 390144 bad JWT, 390303 bad OAuth token, ...
		return fmt.Errorf("snowflake: login failed (%d): %s; check user and password, private_key_file or token", se.Number, se.Message)
	case strings.HasPrefix(se.SQLState, "08"):
		return fmt.Errorf("snowflake: connection failed: %w", err)
	case se.Number == 604: // SQL execution canceled, by someone else
		return fmt.Errorf("snowflake: statement was cancelled: %w", err)
	case se.QueryID != "" || strings.HasPrefix(se.SQLState, "42") || strings.HasPrefix(se.SQLState, "22"):
		// The warehouse ran, or refused to run, this statement.
		e := &core.SQLError{Message: se.Message}
		if m := positionPattern.FindStringSubmatch(se.Message); m != nil {
			e.Line, _ = strconv.Atoi(m[1])
			pos, _ := strconv.Atoi(m[2])
			e.Column = pos + 1
		}
		return e
	}
	return fmt.Errorf("snowflake: %w", err)
}
