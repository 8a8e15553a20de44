package ssmsvc

import (
	"encoding/base64"
	"iter"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/orgpatch/orgpatch/internal/sim/apierr"
)

// Tag is a resource tag.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// Target selects what a window target or task acts on.
type Target struct {
	Key    string   `json:"Key,omitempty"`
	Values []string `json:"Values,omitempty"`
}

type createWindowInput struct {
	Name                     string  `json:"Name"`
	Description              *string `json:"Description,omitempty"`
	StartDate                *string `json:"StartDate,omitempty"`
	EndDate                  *string `json:"EndDate,omitempty"`
	Schedule                 string  `json:"Schedule"`
	ScheduleTimezone         *string `json:"ScheduleTimezone,omitempty"`
	ScheduleOffset           *int32  `json:"ScheduleOffset,omitempty"`
	Duration                 int32   `json:"Duration"`
	Cutoff                   int32   `json:"Cutoff"`
	AllowUnassociatedTargets bool    `json:"AllowUnassociatedTargets"`
	ClientToken              string  `json:"ClientToken,omitempty"`
	Tags                     []Tag   `json:"Tags,omitempty"`
}

type windowIDOutput struct {
	WindowId string `json:"WindowId"`
}

func (s *Service) createWindow(ctx Context, in *createWindowInput) (any, error) {
	w := &Window{
		Name: in.Name, Description: deref(in.Description), StartDate: deref(in.StartDate), EndDate: deref(in.EndDate),
		Schedule: in.Schedule, ScheduleTimezone: deref(in.ScheduleTimezone), ScheduleOffset: derefInt(in.ScheduleOffset),
		Duration: in.Duration, Cutoff: in.Cutoff, AllowUnassociatedTargets: in.AllowUnassociatedTargets, Enabled: true,
		Tags: slices.Clone(in.Tags),
	}
	if err := checkWindow(w); err != nil {
		return nil, err
	}
	st := s.state(ctx.Account, ctx.Region)
	st.mu.Lock()
	defer st.mu.Unlock()
	id, done, fp, err := st.checkToken("CreateMaintenanceWindow", in.ClientToken, in)
	if err != nil {
		return nil, err
	}
	if done {
		return windowIDOutput{WindowId: id}, nil
	}
	if len(st.windows) >= s.quotas.WindowsPerRegion {
		return nil, apierr.BadRequest("ResourceLimitExceededException",
			"Maximum number of maintenance windows (%d) in account %s region %s reached", s.quotas.WindowsPerRegion, ctx.Account, ctx.Region)
	}
	w.ID = s.newWindowID()
	w.Created = ctx.now()
	w.Modified = w.Created
	st.windows[w.ID] = w
	st.rememberToken("CreateMaintenanceWindow", in.ClientToken, fp, w.ID)
	return windowIDOutput{WindowId: w.ID}, nil
}

// nextExecutionTime is the window's next run after now as the reference's
// "ISO-8601 Extended format" string: the simulator writes it in UTC to the
// minute, e.g. 2026-12-06T02:00Z (an assumption: AWS documents no exact
// layout); "" when the window will not run within a year.
func nextExecutionTime(w *Window, now time.Time) string {
	t := w.NextExecution(now)
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04Z")
}

// checkWindow applies the rules the model cannot express.
func checkWindow(w *Window) error {
	if w.Cutoff >= w.Duration {
		return validation("The cutoff (%d hours) must be less than the duration (%d hours) of the maintenance window.", w.Cutoff, w.Duration)
	}
	kind, err := parseSchedule(w.Schedule)
	if err != nil {
		return validation("Invalid schedule expression %s: %v.", w.Schedule, err)
	}
	if w.ScheduleOffset != 0 && kind != scheduleCron {
		return validation("ScheduleOffset is supported only with cron schedules, not %s.", w.Schedule)
	}
	if w.ScheduleTimezone != "" {
		if _, err := time.LoadLocation(w.ScheduleTimezone); err != nil || w.ScheduleTimezone == "Local" {
			return validation("Invalid ScheduleTimezone %s: it must be an IANA time zone name such as Etc/UTC or America/Los_Angeles.", w.ScheduleTimezone)
		}
	}
	var start, end time.Time
	if w.StartDate != "" {
		if start, err = parseISO8601(w.StartDate); err != nil {
			return validation("Invalid StartDate %s: it must be an ISO-8601 date and time such as 2025-01-31T08:00:00Z.", w.StartDate)
		}
	}
	if w.EndDate != "" {
		if end, err = parseISO8601(w.EndDate); err != nil {
			return validation("Invalid EndDate %s: it must be an ISO-8601 date and time such as 2025-12-31T08:00:00Z.", w.EndDate)
		}
	}
	if !start.IsZero() && !end.IsZero() && !end.After(start) {
		return validation("EndDate %s must be later than StartDate %s.", w.EndDate, w.StartDate)
	}
	return nil
}

var isoLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"}

func parseISO8601(s string) (time.Time, error) {
	var err error
	for _, l := range isoLayouts {
		var t time.Time
		if t, err = time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}

type windowIDInput struct {
	WindowId string `json:"WindowId"`
}

type getWindowOutput struct {
	WindowId                 string `json:"WindowId"`
	Name                     string `json:"Name"`
	Description              string `json:"Description,omitempty"`
	StartDate                string `json:"StartDate,omitempty"`
	EndDate                  string `json:"EndDate,omitempty"`
	Schedule                 string `json:"Schedule"`
	ScheduleTimezone         string `json:"ScheduleTimezone,omitempty"`
	ScheduleOffset           int32  `json:"ScheduleOffset,omitempty"`
	NextExecutionTime        string `json:"NextExecutionTime,omitempty"`
	Duration                 int32  `json:"Duration"`
	Cutoff                   int32  `json:"Cutoff"`
	AllowUnassociatedTargets bool   `json:"AllowUnassociatedTargets"`
	Enabled                  bool   `json:"Enabled"`
	CreatedDate              *epoch `json:"CreatedDate,omitempty"`
	ModifiedDate             *epoch `json:"ModifiedDate,omitempty"`
}

func windowOutput(w *Window) getWindowOutput {
	return getWindowOutput{WindowId: w.ID, Name: w.Name, Description: w.Description, StartDate: w.StartDate, EndDate: w.EndDate,
		Schedule: w.Schedule, ScheduleTimezone: w.ScheduleTimezone, ScheduleOffset: w.ScheduleOffset, Duration: w.Duration,
		Cutoff: w.Cutoff, AllowUnassociatedTargets: w.AllowUnassociatedTargets, Enabled: w.Enabled,
		CreatedDate: stamp(w.Created), ModifiedDate: stamp(w.Modified)}
}

func (s *Service) getWindow(ctx Context, in *windowIDInput) (any, error) {
	return s.inWindow(ctx, in.WindowId, func(w *Window) (any, error) {
		out := windowOutput(w)
		out.NextExecutionTime = nextExecutionTime(w, ctx.now())
		return out, nil
	})
}

// inWindow runs f on the window id of ctx's account x region, holding that
// state's lock; a window that does not exist is DoesNotExistException.
func (s *Service) inWindow(ctx Context, id string, f func(w *Window) (any, error)) (any, error) {
	st := s.state(ctx.Account, ctx.Region)
	st.mu.Lock()
	defer st.mu.Unlock()
	w, ok := st.windows[id]
	if !ok {
		return nil, windowNotFound(id)
	}
	return f(w)
}

type updateWindowInput struct {
	WindowId                 string  `json:"WindowId"`
	Name                     *string `json:"Name"`
	Description              *string `json:"Description"`
	StartDate                *string `json:"StartDate"`
	EndDate                  *string `json:"EndDate"`
	Schedule                 *string `json:"Schedule"`
	ScheduleTimezone         *string `json:"ScheduleTimezone"`
	ScheduleOffset           *int32  `json:"ScheduleOffset"`
	Duration                 *int32  `json:"Duration"`
	Cutoff                   *int32  `json:"Cutoff"`
	AllowUnassociatedTargets *bool   `json:"AllowUnassociatedTargets"`
	Enabled                  *bool   `json:"Enabled"`
	Replace                  bool    `json:"Replace"`
}

// updateWindow changes only the given fields; with Replace, the fields
// CreateMaintenanceWindow requires are required here too and every optional
// field not given is reset (Enabled to its default, true).
func (s *Service) updateWindow(ctx Context, in *updateWindowInput) (any, error) {
	if in.Replace {
		if err := requireForReplace(map[string]bool{"name": in.Name != nil, "schedule": in.Schedule != nil,
			"duration": in.Duration != nil, "cutoff": in.Cutoff != nil, "allowUnassociatedTargets": in.AllowUnassociatedTargets != nil}); err != nil {
			return nil, err
		}
	}
	return s.inWindow(ctx, in.WindowId, func(old *Window) (any, error) {
		w := *old
		if in.Replace {
			w.Description, w.StartDate, w.EndDate, w.ScheduleTimezone, w.ScheduleOffset, w.Enabled = "", "", "", "", 0, true
		}
		set(&w.Name, in.Name)
		set(&w.Description, in.Description)
		set(&w.StartDate, in.StartDate)
		set(&w.EndDate, in.EndDate)
		set(&w.Schedule, in.Schedule)
		set(&w.ScheduleTimezone, in.ScheduleTimezone)
		set(&w.ScheduleOffset, in.ScheduleOffset)
		set(&w.Duration, in.Duration)
		set(&w.Cutoff, in.Cutoff)
		set(&w.AllowUnassociatedTargets, in.AllowUnassociatedTargets)
		set(&w.Enabled, in.Enabled)
		if err := checkWindow(&w); err != nil {
			return nil, err
		}
		w.Modified = ctx.now()
		*old = w
		out := windowOutput(old)
		out.CreatedDate, out.ModifiedDate = nil, nil
		return out, nil
	})
}

// requireForReplace answers a Replace update missing a required member the
// way the model validation does.
func requireForReplace(given map[string]bool) error {
	var missing []string
	for name, ok := range given {
		if !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	parts := make([]string, len(missing))
	for i, m := range missing {
		parts[i] = "Value null at '" + m + "' failed to satisfy constraint: Member must not be null when Replace is true"
	}
	n := "1 validation error"
	if len(missing) > 1 {
		n = strconv.Itoa(len(missing)) + " validation errors"
	}
	return validation("%s detected: %s", n, strings.Join(parts, "; "))
}

// deleteWindow deletes a window with its targets and tasks. Deleting a
// window that does not exist succeeds, as in AWS (the operation documents no
// DoesNotExistException).
func (s *Service) deleteWindow(ctx Context, in *windowIDInput) (any, error) {
	st := s.state(ctx.Account, ctx.Region)
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.windows, in.WindowId)
	return windowIDOutput{WindowId: in.WindowId}, nil
}

// Filter narrows a Describe* listing.
type Filter struct {
	Key    string   `json:"Key"`
	Values []string `json:"Values"`
}

type describeWindowsInput struct {
	Filters    []Filter `json:"Filters"`
	MaxResults *int32   `json:"MaxResults"`
	NextToken  string   `json:"NextToken"`
}

type windowIdentity struct {
	WindowId          string `json:"WindowId"`
	Name              string `json:"Name"`
	Description       string `json:"Description,omitempty"`
	Enabled           bool   `json:"Enabled"`
	Duration          int32  `json:"Duration"`
	Cutoff            int32  `json:"Cutoff"`
	Schedule          string `json:"Schedule"`
	ScheduleTimezone  string `json:"ScheduleTimezone,omitempty"`
	ScheduleOffset    int32  `json:"ScheduleOffset,omitempty"`
	NextExecutionTime string `json:"NextExecutionTime,omitempty"`
	EndDate           string `json:"EndDate,omitempty"`
	StartDate         string `json:"StartDate,omitempty"`
}

type describeWindowsOutput struct {
	WindowIdentities []windowIdentity `json:"WindowIdentities"`
	NextToken        string           `json:"NextToken,omitempty"`
}

func (s *Service) describeWindows(ctx Context, in *describeWindowsInput) (any, error) {
	match, err := filters(in.Filters, map[string]func(w *Window, v string) bool{
		"Name":    func(w *Window, v string) bool { return w.Name == v },
		"Enabled": func(w *Window, v string) bool { return strings.EqualFold(v, boolString(w.Enabled)) },
	})
	if err != nil {
		return nil, err
	}
	st := s.state(ctx.Account, ctx.Region)
	st.mu.Lock()
	defer st.mu.Unlock()
	items, next, err := page(maps.Values(st.windows), match, func(w *Window) string { return w.ID }, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := describeWindowsOutput{WindowIdentities: make([]windowIdentity, len(items)), NextToken: next}
	for i, w := range items {
		out.WindowIdentities[i] = windowIdentity{WindowId: w.ID, Name: w.Name, Description: w.Description, Enabled: w.Enabled,
			Duration: w.Duration, Cutoff: w.Cutoff, Schedule: w.Schedule, ScheduleTimezone: w.ScheduleTimezone,
			ScheduleOffset: w.ScheduleOffset, EndDate: w.EndDate, StartDate: w.StartDate, NextExecutionTime: nextExecutionTime(w, ctx.now())}
	}
	return out, nil
}

// filters builds a predicate from Describe* filters: an item matches when,
// for every filter, one of the filter's values matches. Unknown keys are a
// ValidationException naming the supported ones.
func filters[T any](fs []Filter, keys map[string]func(T, string) bool) (func(T) bool, error) {
	type check struct {
		fn     func(T, string) bool
		values []string
	}
	checks := make([]check, 0, len(fs))
	for _, f := range fs {
		fn, ok := keys[f.Key]
		if !ok {
			names := make([]string, 0, len(keys))
			for k := range keys {
				names = append(names, k)
			}
			sort.Strings(names)
			return nil, validation("Filter key %s is not supported; supported keys are %s.", f.Key, strings.Join(names, ", "))
		}
		checks = append(checks, check{fn, f.Values})
	}
	return func(item T) bool {
		for _, c := range checks {
			if !slices.ContainsFunc(c.values, func(v string) bool { return c.fn(item, v) }) {
				return false
			}
		}
		return true
	}, nil
}

// defaultPageSize is the page size when MaxResults is not given; the
// models' minimum MaxResults for maintenance window listings is 10.
const defaultPageSize = 10

// page is one page of a Describe* listing: of the items that match, sorted
// by key, those after NextToken (the key of the last item of the previous
// page), at most MaxResults of them, and the token of the next page ("" on
// the last page).
func page[T any](all iter.Seq[T], match func(T) bool, key func(T) string, maxResults *int32, token string) ([]T, string, error) {
	var items []T
	for item := range all {
		if match(item) {
			items = append(items, item)
		}
	}
	sort.Slice(items, func(i, j int) bool { return key(items[i]) < key(items[j]) })
	start := 0
	if token != "" {
		last, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || len(last) == 0 {
			return nil, "", validation("The NextToken %s is not valid.", token)
		}
		start = sort.Search(len(items), func(i int) bool { return key(items[i]) > string(last) })
	}
	n := defaultPageSize
	if maxResults != nil {
		n = int(*maxResults)
	}
	end := min(start+n, len(items))
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte(key(items[end-1])))
	}
	return items[start:end], next, nil
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func derefInt(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
