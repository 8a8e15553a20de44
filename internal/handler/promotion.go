package handler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/orgpatch/orgpatch/internal/compliance"
	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/promotion"
	"github.com/orgpatch/orgpatch/internal/run"
)

// PromotionBy names the function in the promotion state and its events.
const PromotionBy = "orgpatch function (schedule)"

// The promotion metrics, per ring (dimension Ring): whether the ring was
// held (1) or not (0) by this run's decision, and its earlier ring's
// installed share as measured for the gate.
const (
	MetricPromotionHeld             = "PromotionHeld"
	MetricPromotionInstalledPercent = "PromotionInstalledPercent"
)

// PromotionOutcome is what the scheduled promotion step did: its
// decisions, or, when it could not decide (the earlier rings could not all
// be read, the alarms or the state could not be read or saved), why every
// ring was held at its set.
type PromotionOutcome struct {
	Decisions []promotion.Decision `json:"decisions,omitempty"`
	// Held is why nothing was decided; the converge ran with the state
	// as it was.
	Held string `json:"held,omitempty"`
	// Unpublished says that some events could not be sent (they stay in
	// the state for the next run).
	Unpublished string `json:"unpublished,omitempty"`
}

// hasPromotion says whether any ring of cfg follows another and cfg is
// enabled: a disabled configuration converges to nothing, so it has no pins
// to apply and no cycle to run (no measuring, no events), and its teardown
// never waits on the promotion state being readable.
func hasPromotion(cfg config.Config) bool {
	return !cfg.Disabled && slices.ContainsFunc(cfg.Rings, func(r config.Ring) bool { return r.Promotion != nil })
}

// PinnedConfig is the one place that decides what a converging run's
// targets get (run.Env.Pinned): cfg with the promotion state's pins
// (promotion.Pin), the state read once from store. Without any ring that
// follows another it is nil and reads nothing. A state that cannot be read
// is an error, never cfg unpinned: prod must not jump ahead of what dev
// tested because the state was unreadable.
func PinnedConfig(ctx context.Context, store promotion.Store, cfg config.Config) (*config.Config, error) {
	if !hasPromotion(cfg) {
		return nil, nil
	}
	if store == nil {
		return nil, errors.New("promotion: the configuration has rings that follow others, and there is no promotion state to pin them with (the runs bucket, ORGPATCH_RUNS_BUCKET); nothing converged")
	}
	st, _, err := store.Load(ctx)
	if err != nil {
		return nil, unreadableState(err)
	}
	return pinned(cfg, st)
}

// unreadableState is the error of a converging run whose promotion state
// could not be read.
func unreadableState(err error) error {
	return fmt.Errorf("promotion state cannot be read, so the promoted rings' sets are unknown; nothing converged: %w", err)
}

// pinned is cfg pinned to st (nil when cfg has no promotion).
func pinned(cfg config.Config, st promotion.State) (*config.Config, error) {
	if !hasPromotion(cfg) {
		return nil, nil
	}
	p, err := promotion.Pin(cfg, st)
	if err != nil {
		return nil, fmt.Errorf("%w; nothing converged", err)
	}
	return &p, nil
}

// convergeEnv is the environment of a converging run of cfg: h.env with
// the pins of the promotion state read now (PinnedConfig).
func (h *Handler) convergeEnv(ctx context.Context, log *slog.Logger, cfg config.Config) (run.Env, error) {
	env := h.env(log, cfg)
	p, err := PinnedConfig(ctx, h.deps.Promotion, cfg)
	if err != nil {
		return run.Env{}, err
	}
	env.Pinned = p
	return env, nil
}

// promotionCycle is the scheduled run's promotion step, before it
// converges: load the state, measure the earlier rings (one compliance
// collection over their accounts), read the gates' alarms, and decide,
// save and publish (promotion.Scheduled). It returns the configuration to
// converge to, pinned to the state as saved, or, when the step could not
// decide, to the state as it was loaded (every ring held at its set). An
// error means the state could not be read at all: the run must not
// converge unpinned.
func (h *Handler) promotionCycle(ctx context.Context, log *slog.Logger, cfg config.Config) (*config.Config, *PromotionOutcome, error) {
	store := h.deps.Promotion
	if store == nil {
		_, err := PinnedConfig(ctx, nil, cfg)
		return nil, nil, err
	}
	st, _, err := store.Load(ctx)
	if err != nil {
		return nil, nil, unreadableState(err)
	}
	out := &PromotionOutcome{}
	now := h.clock.Now()
	hold := func(why string, err error) (*config.Config, *PromotionOutcome, error) {
		out.Held = fmt.Sprintf("every ring held at its set: %s: %v", why, err)
		log.Error("promotion held", "reason", out.Held)
		// Each following ring's metric says it is held, so an alarm on
		// PromotionHeld sees a cycle that could not decide.
		var held []promotion.Decision
		for _, r := range cfg.Rings {
			if r.Promotion != nil {
				held = append(held, promotion.Decision{Ring: r.Name, Kind: promotion.HoldKind})
			}
		}
		if werr := writePromotionMetrics(h.metrics, now, held); werr != nil {
			log.Warn("promotion metrics not written", "error", werr)
		}
		p, perr := pinned(cfg, st)
		return p, out, perr
	}
	m, err := promotion.ReadInputs(ctx, compliance.Env{
		Management: h.deps.Management, Settings: h.deps.Report.Settings, Concurrency: h.deps.Concurrency,
		TargetTimeout: h.deps.TargetTimeout, Reserve: h.deps.Reserve, Logger: log, Now: func() time.Time { return now },
	}, h.alarms, cfg, PromotionBy, now)
	if len(m.Unread) > 0 {
		// Decide holds the rings that follow them, saying so; the hold is
		// saved and published like any other.
		log.Warn("promotion: earlier rings not read in full", "unread", len(m.Unread), "first", m.Unread[0])
	}
	if err != nil {
		return hold("the earlier rings could not be measured", err)
	}
	saved, ds, err := promotion.Scheduled(ctx, store, h.publisher, cfg, m.Inputs)
	// Scheduled returns no decisions when the state was not saved; with
	// decisions, its error is about publishing alone.
	if err != nil && ds == nil {
		return hold("the promotion state could not be saved", err)
	}
	if err != nil {
		out.Unpublished = err.Error()
		log.Warn("promotion events not all sent; kept for the next run", "error", err)
	}
	out.Decisions = ds
	for _, d := range ds {
		attrs := []any{"ring", d.Ring, "kind", string(d.Kind), "reason", d.Reason, "from", d.From.String(), "to", d.To.String()}
		if f := d.Figures; f != nil {
			attrs = append(attrs, "earlierRing", f.Ring, "managed", f.Managed, "installed", f.Installed, "failed", f.Failed, "stale", f.Stale,
				"installedPercent", f.InstalledPercent, "failedPercent", f.FailedPercent, "stalePercent", f.StalePercent)
		}
		log.Info("promotion decision", attrs...)
	}
	if werr := writePromotionMetrics(h.metrics, now, ds); werr != nil {
		log.Warn("promotion metrics not written", "error", werr)
	}
	p, err := pinned(cfg, saved)
	return p, out, err
}

// writePromotionMetrics writes one embedded-metric-format line per ring
// decided: PromotionHeld (1 held, 0 not) and, when a gate was measured,
// PromotionInstalledPercent, with dimension Ring.
func writePromotionMetrics(w io.Writer, now time.Time, ds []promotion.Decision) error {
	for _, d := range ds {
		if d.Kind == promotion.Dropped {
			continue
		}
		held := 0
		if d.Kind == promotion.HoldKind {
			held = 1
		}
		metrics := []emfMetric{{MetricPromotionHeld, "Count"}}
		line := map[string]any{"Ring": d.Ring, MetricPromotionHeld: held}
		if d.Figures != nil {
			metrics = append(metrics, emfMetric{MetricPromotionInstalledPercent, "Percent"})
			line[MetricPromotionInstalledPercent] = d.Figures.InstalledPercent
		}
		line["_aws"] = emfMetadata{Timestamp: now.UnixMilli(), CloudWatchMetrics: []emfDirective{{
			Namespace: MetricsNamespace, Dimensions: [][]string{{"Ring"}}, Metrics: metrics,
		}}}
		if err := writeEMFLine(w, line); err != nil {
			return err
		}
	}
	return nil
}
