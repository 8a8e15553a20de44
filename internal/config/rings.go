package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Ring is a set of accounts that is configured apart: dev before prod.
// Every account belongs to exactly one ring, the first of Config.Rings
// whose Select matches it, or to none (the configuration's own settings).
// A ring overrides only what it sets: the whole window list (Windows), the
// whole baseline list (Baselines), some fields of named windows
// (WindowOverrides), and the approval delay of every approve-after-days
// rule of its baselines (ApproveAfterDays). Promotion, when set, ties the
// ring's approvals to what an earlier ring tested (promotion.go).
type Ring struct {
	Name   string   `json:"name"`
	Select Selector `json:"select"`

	Windows          []Window         `json:"windows,omitempty"`
	Baselines        []Baseline       `json:"baselines,omitempty"`
	WindowOverrides  []WindowOverride `json:"windowOverrides,omitempty"`
	ApproveAfterDays *int32           `json:"approveAfterDays,omitempty"`
	Promotion        *Promotion       `json:"promotion,omitempty"`
}

// Selector picks accounts: those in one of OUs (or an OU nested in one),
// those with one of the ids in Accounts, and those whose Organizations
// account tags match one of Tags. It matches when any of them does.
type Selector struct {
	OUs      []string      `json:"ous,omitempty"`
	Accounts []string      `json:"accounts,omitempty"`
	Tags     []TagSelector `json:"tags,omitempty"`
}

// TagSelector matches an account tagged Key with one of Values (any value
// when Values is empty).
type TagSelector struct {
	Key    string   `json:"key"`
	Values []string `json:"values,omitempty"`
}

// WindowOverride changes, for a ring, the fields it sets of the window
// named Window.
type WindowOverride struct {
	Window           string `json:"window"`
	Schedule         string `json:"schedule,omitempty"`
	ScheduleOffset   *int32 `json:"scheduleOffset,omitempty"`
	ScheduleTimezone string `json:"scheduleTimezone,omitempty"`
	Operation        string `json:"operation,omitempty"`
	RebootOption     string `json:"rebootOption,omitempty"`
}

// RingNames are the names of the rings, in order.
func (c Config) RingNames() []string {
	names := make([]string, len(c.Rings))
	for i, r := range c.Rings {
		names[i] = r.Name
	}
	return names
}

// CheckRing says whether name is a ring of c, or "" (none): the error
// names the rings there are.
func (c Config) CheckRing(name string) error {
	switch {
	case name == "" || slices.Contains(c.RingNames(), name):
		return nil
	case len(c.Rings) == 0:
		return fmt.Errorf("%q is not a ring: the configuration has none", name)
	}
	return fmt.Errorf("%q is not one of the configuration's rings: %s", name, strings.Join(c.RingNames(), ", "))
}

// ForRing is the configuration the accounts of ring name converge to: c
// with the ring's overrides applied and no rings. The empty name (no ring
// selected the account) is c's own settings. ok is false for a ring c does
// not have.
func (c Config) ForRing(name string) (eff Config, ok bool) {
	eff = c.clone()
	eff.Rings, eff.RingsByTag = nil, false
	if name == "" {
		return eff, true
	}
	i := slices.IndexFunc(c.Rings, func(r Ring) bool { return r.Name == name })
	if i < 0 {
		return Config{}, false
	}
	r := c.Rings[i]
	if r.Windows != nil {
		eff.Windows = cloneWindows(r.Windows)
	}
	if r.Baselines != nil {
		eff.Baselines = cloneBaselines(r.Baselines)
	}
	for _, o := range r.WindowOverrides {
		if j := slices.IndexFunc(eff.Windows, func(w Window) bool { return w.Name == o.Window }); j >= 0 {
			o.applyTo(&eff.Windows[j])
		}
	}
	if r.ApproveAfterDays != nil {
		for j := range eff.Baselines {
			for k := range eff.Baselines[j].ApprovalRules {
				if rule := &eff.Baselines[j].ApprovalRules[k]; rule.ApproveAfterDays != nil {
					d := *r.ApproveAfterDays
					rule.ApproveAfterDays = &d
				}
			}
		}
	}
	return eff, true
}

func (o WindowOverride) applyTo(w *Window) {
	if o.Schedule != "" {
		w.Schedule = o.Schedule
	}
	if o.ScheduleOffset != nil {
		w.ScheduleOffset = *o.ScheduleOffset
	}
	if o.ScheduleTimezone != "" {
		w.ScheduleTimezone = o.ScheduleTimezone
	}
	if o.Operation != "" {
		w.Task.Operation = o.Operation
	}
	if o.RebootOption != "" {
		w.Task.RebootOption = o.RebootOption
	}
}

// validateRings checks the rings: names, selectors, their own windows and
// baselines (as the configuration's are checked), and that each override
// names a window of the ring and leaves it valid.
func (c Config) validateRings(p *problems) {
	if c.RingsByTag && !slices.ContainsFunc(c.Rings, func(r Ring) bool { return len(r.Select.Tags) > 0 }) {
		p.add("ringsByTag", "true", "is set but no ring selects by tag: remove it, or give a ring select.tags")
	}
	names := uniqueNames{}
	for i, r := range c.Rings {
		prefix := fmt.Sprintf("rings[%d]", i)
		checkName(p, prefix+".name", r.Name)
		names.add(p, "rings", i, r.Name, "ring")
		r.Select.validate(p, prefix+".select")
		if len(r.Select.Tags) > 0 && !c.RingsByTag {
			p.add(prefix+".select.tags", "", "selects accounts by tag, so whoever may tag accounts in Organizations can move an account between rings; "+
				"set ringsByTag: true to choose that (and see docs/rings-and-baselines.md for who may tag), or select by ous or accounts")
		}
		wnames := uniqueNames{}
		for j, w := range r.Windows {
			w.validate(p, fmt.Sprintf("%s.windows[%d]", prefix, j))
			wnames.add(p, prefix+".windows", j, w.Name, "window")
		}
		if r.Baselines != nil {
			validateBaselines(p, prefix+".baselines", r.Baselines)
		}
		if r.ApproveAfterDays != nil {
			if d := *r.ApproveAfterDays; d < 0 || d > maxApproveAfterDays {
				p.add(prefix+".approveAfterDays", strconv.Itoa(int(d)), "is not one of 0-%d (days)", maxApproveAfterDays)
			}
		}
		windows := c.Windows
		if r.Windows != nil {
			windows = r.Windows
		}
		for j, o := range r.WindowOverrides {
			o.validate(p, fmt.Sprintf("%s.windowOverrides[%d]", prefix, j), windows)
		}
	}
	c.validatePromotion(p)
}

// uniqueNames finds names used twice in one list.
type uniqueNames map[string]int

// add records the name of list[i]; a name an earlier item has is a
// problem of list[i].name naming that item.
func (u uniqueNames) add(p *problems, list string, i int, name, what string) {
	if j, dup := u[name]; dup && name != "" {
		p.add(fmt.Sprintf("%s[%d].name", list, i), name, "is also the name of %s[%d]; %s names must be unique", list, j, what)
		return
	}
	u[name] = i
}

func (s Selector) validate(p *problems, prefix string) {
	if len(s.OUs)+len(s.Accounts)+len(s.Tags) == 0 {
		p.add(prefix, "", "selects no account: give ous, accounts or tags")
	}
	checkList(p, prefix+".ous", s.OUs, func(field, id string) {
		if !ouPattern.MatchString(id) {
			p.add(field, id, "is not an organizational unit id like ou-ab12-cd34ef56")
		}
	})
	checkList(p, prefix+".accounts", s.Accounts, func(field, id string) {
		if !accountPattern.MatchString(id) {
			p.add(field, id, "is not an account id of 12 digits")
		}
	})
	for i, t := range s.Tags {
		at := fmt.Sprintf("%s.tags[%d]", prefix, i)
		// Organizations tag keys: 1-128 characters; values 0-256.
		if n := utf8.RuneCountInString(t.Key); n < 1 || n > maxTagKey {
			p.add(at+".key", t.Key, "is %d characters long; an account tag key has 1-%d", n, maxTagKey)
		}
		for k, v := range t.Values {
			if n := utf8.RuneCountInString(v); n > maxTagValue {
				p.add(fmt.Sprintf("%s.values[%d]", at, k), v, "is %d characters long; at most %d are allowed", n, maxTagValue)
			}
		}
	}
}

// validate checks an override against the ring's windows: it names one of
// them, and the window it leaves is one Validate accepts.
func (o WindowOverride) validate(p *problems, prefix string, windows []Window) {
	i := slices.IndexFunc(windows, func(w Window) bool { return w.Name == o.Window })
	if i < 0 {
		p.add(prefix+".window", o.Window, "is not a window of this ring; its windows are %s", strings.Join(Config{Windows: windows}.WindowNames(), ", "))
		return
	}
	w := windows[i]
	o.applyTo(&w)
	// Check the window as overridden, naming the override's fields.
	var inner problems
	w.validate(&inner, "w")
	for _, e := range inner {
		field, _ := strings.CutPrefix(e.Field, "w.")
		switch field {
		case "schedule", "scheduleOffset", "scheduleTimezone":
		case "task.operation", "task.rebootOption":
			field = strings.TrimPrefix(field, "task.")
		default:
			continue // not the override's doing: the window itself is checked where it is defined
		}
		p.add(prefix+"."+field, e.Value, "%s", e.Problem)
	}
}

// decodeRings decodes the rings list; each ring's windows start from the
// per-window defaults, as the configuration's own windows do.
func decodeRings(raw any) ([]Ring, error) {
	if raw == nil {
		return nil, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("decode configuration: rings is %s; want a list", jsonKind(raw))
	}
	rings := make([]Ring, len(list))
	for i, item := range list {
		path := fmt.Sprintf("rings[%d]", i)
		m, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("decode configuration: %s is %s; want an object", path, jsonKind(item))
		}
		rawWindows, hasWindows := m["windows"]
		delete(m, "windows")
		if err := remarshal(m, &rings[i], path); err != nil {
			return nil, err
		}
		if !hasWindows || rawWindows == nil {
			continue
		}
		ws, ok := rawWindows.([]any)
		if !ok {
			return nil, fmt.Errorf("decode configuration: %s.windows is %s; want a list", path, jsonKind(rawWindows))
		}
		rings[i].Windows = make([]Window, len(ws))
		for j, w := range ws {
			rings[i].Windows[j] = windowTemplate()
			if err := remarshal(w, &rings[i].Windows[j], fmt.Sprintf("%s.windows[%d]", path, j)); err != nil {
				return nil, err
			}
		}
	}
	return rings, nil
}

// clone is a deep copy: the effective configurations of rings share
// nothing with c.
func (c Config) clone() Config {
	out := c
	out.Windows = cloneWindows(c.Windows)
	out.Baselines = cloneBaselines(c.Baselines)
	out.Regions = slices.Clone(c.Regions)
	out.ExcludedAccounts = slices.Clone(c.ExcludedAccounts)
	out.ExcludedOUs = slices.Clone(c.ExcludedOUs)
	out.Rings = slices.Clone(c.Rings)
	return out
}

func cloneWindows(ws []Window) []Window {
	if ws == nil {
		return nil
	}
	out := make([]Window, len(ws))
	for i, w := range ws {
		w.Target.TagValues = slices.Clone(w.Target.TagValues)
		w.Task.NotificationEvents = slices.Clone(w.Task.NotificationEvents)
		if w.Task.Parameters != nil {
			params := make(map[string][]string, len(w.Task.Parameters))
			for k, v := range w.Task.Parameters {
				params[k] = slices.Clone(v)
			}
			w.Task.Parameters = params
		}
		out[i] = w
	}
	return out
}

func cloneFilters(fs []PatchFilter) []PatchFilter {
	if fs == nil {
		return nil
	}
	out := make([]PatchFilter, len(fs))
	for i, f := range fs {
		out[i] = PatchFilter{Key: f.Key, Values: slices.Clone(f.Values)}
	}
	return out
}

func cloneBaselines(bs []Baseline) []Baseline {
	if bs == nil {
		return nil
	}
	out := make([]Baseline, len(bs))
	for i, b := range bs {
		b.GlobalFilters = cloneFilters(b.GlobalFilters)
		rules := make([]ApprovalRule, len(b.ApprovalRules))
		for j, r := range b.ApprovalRules {
			r.Filters = cloneFilters(r.Filters)
			if r.ApproveAfterDays != nil {
				d := *r.ApproveAfterDays
				r.ApproveAfterDays = &d
			}
			rules[j] = r
		}
		if b.ApprovalRules != nil {
			b.ApprovalRules = rules
		}
		b.ApprovedPatches = slices.Clone(b.ApprovedPatches)
		b.RejectedPatches = slices.Clone(b.RejectedPatches)
		b.PatchGroups = slices.Clone(b.PatchGroups)
		if b.Sources != nil {
			srcs := make([]PatchSource, len(b.Sources))
			for j, src := range b.Sources {
				src.Products = slices.Clone(src.Products)
				srcs[j] = src
			}
			b.Sources = srcs
		}
		out[i] = b
	}
	return out
}
