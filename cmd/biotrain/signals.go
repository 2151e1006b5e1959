package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// exitError carries the exit status of a command that did not fail but was stopped: 128 + the signal
// number, as a shell reports a process killed by it (130 for SIGINT, 143 for SIGTERM).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// stopOnSignal returns a channel closed on the first SIGINT or SIGTERM, a function returning that signal,
// and a release function. After the first signal the default handling is restored, so a second one ends
// the process at once.
func stopOnSignal() (stop <-chan struct{}, caught func() os.Signal, release func()) {
	signals := make(chan os.Signal, 1)
	done := make(chan struct{})
	closed := make(chan struct{})
	var sig os.Signal
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case sig = <-signals:
			signal.Stop(signals)
			close(closed)
		case <-done:
		}
	}()
	return closed, func() os.Signal { <-closed; return sig }, func() { signal.Stop(signals); close(done) }
}

// interruptedError is the error of a run stopped by sig: it says where the checkpoint is, and exits with
// 128 + the signal number.
func interruptedError(sig os.Signal, checkpoint string, err error) error {
	code := 130
	if s, ok := sig.(syscall.Signal); ok {
		code = 128 + int(s)
	}
	if checkpoint != "" {
		err = fmt.Errorf("%w; saved in %q: continue with -resume -checkpoint %s", err, checkpoint, checkpoint)
	}
	return &exitError{code: code, err: fmt.Errorf("stopped by %v: %w", sig, err)}
}
