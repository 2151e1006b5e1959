package biolayers

import (
	"fmt"

	"github.com/pkg/errors"
)

// panicf panics with an error (with stack trace) built from the format and arguments, like GoMLX does
// for graph-building errors (GoMLX's exec.Call and friends convert such panics into errors).
func panicf(format string, args ...any) {
	panic(errors.WithStack(fmt.Errorf(format, args...)))
}
