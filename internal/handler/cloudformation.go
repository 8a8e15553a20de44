package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/cfn"
)

// PhysicalResourceID is the custom resource's physical id, the same for
// every request: CloudFormation reads a changed id on Update as a
// replacement and would then Delete "the old one", tearing down what the
// Update just converged.
const PhysicalResourceID = "orgpatch"

// responseLimit is the largest response body CloudFormation accepts.
const responseLimit = 4096

// answerAttempts is how many times an answer is sent before giving up; the
// presigned S3 URL answers 5xx now and then like any S3 PUT.
const answerAttempts = 3

// answer sends CloudFormation its response: cfn.Response, as aws-lambda-go's
// cfn.LambdaWrap sends it, but bounded by ctx and retried, with the Reason cut
// to fit the 4 KB body.
func (h *Handler) answer(ctx context.Context, ev *cfn.Event, status cfn.StatusType, reason string, data map[string]any) error {
	r := cfn.NewResponse(ev)
	r.Status = status
	r.PhysicalResourceID = PhysicalResourceID
	r.Data = data
	body, err := fitResponse(r, reason)
	if err != nil {
		return err
	}
	var last error
	for attempt := range answerAttempts {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("answer CloudFormation: %w (last attempt: %w)", context.Cause(ctx), last)
			case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
			}
		}
		if last = h.put(ctx, ev.ResponseURL, body); last == nil {
			return nil
		}
	}
	return fmt.Errorf("answer CloudFormation after %d attempts: %w", answerAttempts, last)
}

func (h *Handler) put(ctx context.Context, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("answer CloudFormation: %w", err)
	}
	// The presigned URL is signed without a content type: send none.
	req.Header.Del("Content-Type")
	res, err := h.http.Do(req)
	if err != nil {
		return fmt.Errorf("answer CloudFormation: %w", err)
	}
	defer res.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(res.Body, 1024))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("answer CloudFormation: HTTP %d: %s", res.StatusCode, bytes.TrimSpace(msg))
	}
	return nil
}

// fitResponse encodes r with reason cut, on a rune boundary and marked as
// cut, so that the whole body stays within responseLimit. The longest
// prefix that fits is searched for, since JSON escaping makes a reason up to
// six times longer on the wire than in memory.
func fitResponse(r *cfn.Response, reason string) ([]byte, error) {
	const mark = " [...]"
	encode := func(reason string) ([]byte, bool, error) {
		r.Reason = reason
		body, err := json.Marshal(r)
		if err != nil {
			return nil, false, fmt.Errorf("encode CloudFormation response: %w", err)
		}
		return body, len(body) <= responseLimit, nil
	}
	body, fits, err := encode(reason)
	if err != nil || fits {
		return body, err
	}
	// runeFloor is the rune boundary at or before i.
	runeFloor := func(i int) int {
		for i > 0 && i < len(reason) && !utf8.RuneStart(reason[i]) {
			i--
		}
		return i
	}
	// Largest n with reason[:runeFloor(n)]+mark fitting; more than
	// responseLimit bytes never fit.
	lo, hi := 0, min(len(reason), responseLimit)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if _, ok, err := encode(reason[:runeFloor(mid)] + mark); err != nil {
			return nil, err
		} else if ok {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	cut := ""
	if n := runeFloor(lo); n > 0 {
		cut = reason[:n] + mark
	}
	body, fits, err = encode(cut)
	if err != nil {
		return nil, err
	}
	if !fits {
		return nil, fmt.Errorf("encode CloudFormation response: %d bytes without a reason, over the %d-byte limit", len(body), responseLimit)
	}
	return body, nil
}

// reasonBudget is how many bytes of Reason fit beside the rest of r.
func reasonBudget(ev *cfn.Event, data map[string]any) int {
	r := cfn.NewResponse(ev)
	r.Status, r.PhysicalResourceID, r.Data = cfn.StatusFailed, PhysicalResourceID, data
	body, err := json.Marshal(r)
	if err != nil {
		return 0
	}
	return max(responseLimit-len(body)-len(`,"Reason":""`), 0)
}
