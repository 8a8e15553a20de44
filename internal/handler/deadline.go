package handler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/orgpatch/orgpatch/internal/report"
)

// errPanic marks a panic turned into an error.
var errPanic = errors.New("panic")

// errNoTimeLeft is the cause of work's context when the Lambda's deadline
// is too near to go on.
var errNoTimeLeft = errors.New("the Lambda's deadline is near: stopped to report and answer in time")

// guarded runs work so that the caller always gets control back in time to
// report and answer. A panic becomes an error. With a deadline, work's
// context ends a quarter of the reserve before it (the run itself stops
// starting targets a whole reserve before that), and should work still not
// return (a call that ignores its context) the caller goes on without it an
// eighth of the reserve before the deadline, leaving that eighth to answer.
func (h *Handler) guarded(ctx context.Context, log *slog.Logger, work func(context.Context) (*report.Report, error)) (*report.Report, error) {
	type outcome struct {
		rep *report.Report
		err error
	}
	var giveUp <-chan time.Time
	wctx := ctx
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		wctx, cancel = context.WithDeadlineCause(ctx, dl.Add(-h.deps.Reserve/4), errNoTimeLeft)
		defer cancel()
		t := time.NewTimer(max(dl.Sub(h.clock.Now())-h.deps.Reserve/8, 0))
		defer t.Stop()
		giveUp = t.C
	}
	done := make(chan outcome, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				log.Error("panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				done <- outcome{err: fmt.Errorf("%w: %v", errPanic, p)}
			}
		}()
		rep, err := work(wctx)
		done <- outcome{rep, err}
	}()
	select {
	case o := <-done:
		return o.rep, o.err
	case <-giveUp:
		err := fmt.Errorf("the run did not return %s before the Lambda's deadline; the next run picks up what is left", h.deps.Reserve/8)
		log.Error("giving up on the run", "error", err)
		return nil, err
	}
}
