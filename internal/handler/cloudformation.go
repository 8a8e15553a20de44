package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/cfn"

	"github.com/orgpatch/orgpatch/internal/trigger"
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
	if err := h.checkResponseURL(ev.ResponseURL); err != nil {
		return err
	}
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

func (h *Handler) put(ctx context.Context, target string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, target, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("answer CloudFormation: %w", err)
	}
	// The presigned URL is signed without a content type: send none.
	req.Header.Del("Content-Type")
	res, err := h.http.Do(req)
	if err != nil {
		// The error names the URL; its query holds the signature.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			ue.URL = RedactURL(ue.URL)
		}
		return fmt.Errorf("answer CloudFormation: %w", err)
	}
	defer res.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(res.Body, 1024))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("answer CloudFormation: HTTP %d: %s", res.StatusCode, bytes.TrimSpace(msg))
	}
	return nil
}

// responseBucketPrefix starts the name of the bucket CloudFormation's
// presigned response URLs point into; the region follows without its
// dashes (cloudformation-custom-resource-response-useast1).
const responseBucketPrefix = "cloudformation-custom-resource-response-"

// checkResponseURL refuses to send an answer anywhere but to CloudFormation's
// response bucket of the function's own region (a custom resource's function
// is always in its stack's region), over https on the default port: the
// hosts S3 serves that bucket under, virtual-hosted style, whether global
// (s3.amazonaws.com), regional (s3.REGION.amazonaws.com) or the older
// dash form (s3-REGION.amazonaws.com), with .amazonaws.com.cn in China.
// With Deps.LoopbackAnswers, http(s) to a loopback address is allowed too.
func (h *Handler) checkResponseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("answer CloudFormation: ResponseURL is not a URL")
	}
	if h.deps.LoopbackAnswers && (u.Scheme == "http" || u.Scheme == "https") {
		if ip := net.ParseIP(u.Hostname()); ip != nil && ip.IsLoopback() {
			return nil
		}
	}
	region := h.deps.Management.Region
	want := responseHosts(region)
	if u.Scheme != "https" || u.Port() != "" || u.User != nil || !slices.Contains(want, u.Host) {
		return fmt.Errorf("answer CloudFormation: ResponseURL %s is not https://%s/...: no answer sent", RedactURL(raw), strings.Join(want, " or https://"))
	}
	return nil
}

// responseHosts are the hosts of CloudFormation's response bucket in region.
func responseHosts(region string) []string {
	bucket := responseBucketPrefix + strings.ReplaceAll(region, "-", "")
	domain := "amazonaws.com"
	if strings.HasPrefix(region, "cn-") {
		domain = "amazonaws.com.cn"
	}
	hosts := []string{bucket + ".s3." + region + "." + domain, bucket + ".s3-" + region + "." + domain}
	if domain == "amazonaws.com" {
		hosts = append(hosts, bucket+".s3."+domain)
	}
	return hosts
}

// RedactURL is raw without its query and fragment (a presigned URL's
// signature) and user information, for logs and errors.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(not a URL)"
	}
	u.RawQuery, u.Fragment, u.RawFragment, u.User = "", "", "", nil
	return u.String()
}

// withoutRedirects is c, or a default client, refusing redirects: an answer
// goes to the presigned URL CloudFormation gave, nowhere else.
func withoutRedirects(c *http.Client) *http.Client {
	out := &http.Client{Timeout: 30 * time.Second}
	if c != nil {
		copied := *c
		out = &copied
	}
	out.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return out
}

// refuse answers FAILED a custom resource request that is not this stack's
// (when its ResponseURL is CloudFormation's), and fails the invocation, so
// that the retries end in the dead-letter queue and its alarm.
func (h *Handler) refuse(ctx context.Context, log *slog.Logger, req trigger.Request, err error, start time.Time) (any, error) {
	log.Error("custom resource request refused; nothing done", "error", err)
	defer h.emit(log, req.Source, nil, true, start)
	res := Result{Trigger: req.Source, Action: req.Action, Reason: err.Error(), Summary: err.Error()}
	if aerr := h.answer(ctx, req.CloudFormation, cfn.StatusFailed, err.Error(), nil); aerr != nil {
		log.Error("refused request not answered", "error", aerr)
		return res, err
	}
	res.Status = cfn.StatusFailed
	return res, err
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
