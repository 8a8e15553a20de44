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
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/reconcile"
	"github.com/orgpatch/orgpatch/internal/report"
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

// cloudFormation handles a custom resource request and answers it; with a
// state machine, it starts the run's execution, whose last step answers.
func (h *Handler) cloudFormation(ctx context.Context, log *slog.Logger, req trigger.Request, start time.Time) (any, error) {
	res := Result{Trigger: req.Source, Action: req.Action, Reason: req.Reason}
	started := false
	rep, err := h.guarded(ctx, log, func(ctx context.Context) (*report.Report, error) {
		cfg, mode, old, err := h.cloudFormationConfig(ctx, log, req)
		if err != nil {
			return nil, err
		}
		previous := h.previous(log, old, cfg)
		if h.deps.Executions != nil {
			started = true
			return nil, h.startRun(ctx, log, req, cfg, old)
		}
		env := h.env(log, cfg)
		if mode == reconcile.Converge {
			if env, err = h.convergeEnv(ctx, log, cfg); err != nil {
				return nil, err
			}
		}
		env.Previous = previous
		return h.settle(ctx, log, req, h.converge(ctx, log, req, env, mode))
	})
	if started && err == nil {
		res.Summary = "whole-organization run started; its last step answers CloudFormation"
		h.emit(log, req.Source, nil, false, start)
		return res, nil
	}
	return h.answerRun(ctx, log, req, res, rep, err, start)
}

// settle finishes a CloudFormation run: a Delete whose removal is complete
// deletes the configuration parameter. The error is why the run failed
// (for a Delete, why its removal is incomplete), nil when it did not.
func (h *Handler) settle(ctx context.Context, log *slog.Logger, req trigger.Request, rep *report.Report) (*report.Report, error) {
	if req.Action != trigger.Remove {
		return rep, rep.Err()
	}
	if err := removalErr(rep); err != nil {
		log.Warn("delete: removal incomplete; configuration parameter kept for the retried Delete", "parameter", h.store.name)
		return rep, err
	}
	if err := h.store.remove(ctx); err != nil {
		log.Error("delete: windows removed, configuration parameter not deleted", "error", err)
		return rep, err
	}
	log.Info("delete: configuration parameter deleted", "parameter", h.store.name)
	return rep, nil
}

// answerRun reports a CloudFormation run (rep nil when it never ran; err
// why it failed) and answers CloudFormation.
func (h *Handler) answerRun(ctx context.Context, log *slog.Logger, req trigger.Request, res Result, rep *report.Report, err error, start time.Time) (any, error) {
	ev := req.CloudFormation
	h.finish(log, &res, rep, err, start)

	status := cfn.StatusSuccess
	if err != nil {
		status = cfn.StatusFailed
	}
	var data map[string]any
	suffix := ""
	if lambdacontext.LogStreamName != "" {
		suffix = " (log stream " + lambdacontext.LogStreamName + ")"
	}
	var reason string
	note := h.deleteNote(req, rep, err)
	if rep != nil {
		c := rep.Counts
		data = map[string]any{"Targets": c.Targets, "Converged": c.Converged, "Failed": c.Failed, "Pending": c.Pending, "Writes": c.Writes}
		if failed := failedAccounts(rep); len(failed) > 0 {
			data["FailedAccounts"] = namedAccounts(failed)
		}
		// The counts, then as many failed targets as fit.
		reason = res.tolerated + rep.Summary(reasonBudget(ev, data)-len(suffix)-len(note)-len(res.tolerated))
	}
	if err != nil && rep == nil {
		reason = err.Error()
	}
	reason += note + suffix
	res.Status = status
	if aerr := h.answer(ctx, ev, status, reason, data); aerr != nil {
		log.Error("could not answer CloudFormation", "error", aerr, "status", string(status))
		return res, aerr
	}
	log.Info("answered CloudFormation", "status", string(status), "physicalResourceId", PhysicalResourceID)
	return res, nil
}

// removalErr is why a Delete's removal is incomplete, nil when it is not:
// its failures, and the targets the run did not reach, since no later run
// removes their windows.
func removalErr(rep *report.Report) error {
	err := rep.Err()
	if n := rep.Counts.NotStarted + rep.Counts.Pending; n > 0 {
		err = errors.Join(err, fmt.Errorf("%d targets not reached; a retried Delete removes their windows", n))
	}
	return err
}

// maxNote bounds deleteNote, so the Reason keeps room for the counts.
const maxNote = 1024

// deleteNote tells, for a Delete's Reason, what became of the configuration
// parameter: deleted with the removal, or kept (the removal is incomplete,
// or the parameter's deletion failed) so the retried Delete finds it.
func (h *Handler) deleteNote(req trigger.Request, rep *report.Report, err error) string {
	if req.Action != trigger.Remove {
		return ""
	}
	var note string
	switch {
	case err == nil:
		note = "; configuration parameter " + h.store.name + " deleted"
	case rep != nil && removalErr(rep) == nil:
		// Everything was removed but the parameter: say why it is left.
		note = "; windows removed, but " + err.Error()
	default:
		note = "; configuration parameter " + h.store.name + " kept for the retried Delete"
	}
	if len(note) > maxNote {
		note = strings.ToValidUTF8(note[:maxNote], "") + " [...]"
	}
	return note
}

// cloudFormationConfig settles the configuration and mode of a custom
// resource request, and for an Update the previous properties it can
// trust (trustedPrevious; nil otherwise). Create and Update decode the
// properties and store them for every other trigger; Delete removes with
// whatever configuration it can find (its properties, else the stored
// one, else the defaults), because a Delete that fails on a bad property
// would leave the stack undeletable.
func (h *Handler) cloudFormationConfig(ctx context.Context, log *slog.Logger, req trigger.Request) (config.Config, reconcile.Mode, map[string]any, error) {
	if req.Action == trigger.Remove {
		cfg, err := config.FromProperties(req.Properties)
		if err == nil {
			return cfg, reconcile.RemoveKeepSettings, nil, nil
		}
		log.Warn("delete: properties do not decode; using the stored configuration", "error", err)
		cfg, err = h.store.load(ctx)
		if err != nil {
			log.Warn("delete: no usable stored configuration; using the defaults", "error", err)
			cfg = config.Default()
		}
		return cfg, reconcile.RemoveKeepSettings, nil, nil
	}
	cfg, err := config.FromProperties(req.Properties)
	if err != nil {
		return config.Config{}, "", nil, fmt.Errorf("custom resource properties: %w", err)
	}
	var old map[string]any
	if req.OldProperties != nil {
		stored, err := h.store.properties(ctx)
		if err != nil {
			return config.Config{}, "", nil, err
		}
		if old = trustedPrevious(stored, req.OldProperties); old == nil {
			log.Warn("update: OldResourceProperties are not the stored configuration; nothing is removed where the old one applied")
		}
	}
	if err := h.store.store(ctx, req.Properties); err != nil {
		return config.Config{}, "", nil, err
	}
	if cfg.Disabled {
		log.Info("configuration disabled: tearing down")
	}
	return cfg, reconcile.Converge, old, nil
}

// previous is the configuration an Update replaces (old: its verified
// properties), for the run to remove what it made where cfg no longer
// applies; nil without them, and for old properties that do not decode
// (the configuration they stood for was never stored, so nothing was made
// from it). Windows that leave the configuration are logged: convergence
// deletes them.
func (h *Handler) previous(log *slog.Logger, old map[string]any, cfg config.Config) *config.Config {
	if old == nil {
		return nil
	}
	prev, err := config.FromProperties(old)
	if err != nil {
		log.Warn("update: old properties do not decode; nothing to remove", "error", err)
		return nil
	}
	if gone := leaving(prev, cfg); len(gone) > 0 {
		log.Info("windows leave the configuration; their owned copies are deleted", "windows", gone)
	}
	return &prev
}

// leaving names the windows of old that cfg no longer has (renamed or
// removed). With cfg disabled, every window leaves.
func leaving(old, cfg config.Config) []string {
	var gone []string
	for _, w := range old.Windows {
		if cfg.Disabled || !slices.ContainsFunc(cfg.Windows, func(n config.Window) bool { return n.Name == w.Name }) {
			gone = append(gone, w.Name)
		}
	}
	return gone
}
