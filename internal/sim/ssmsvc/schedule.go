package ssmsvc

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Schedule kinds a maintenance window accepts.
const (
	scheduleCron = "cron"
	scheduleRate = "rate"
	scheduleAt   = "at"
)

// parseSchedule checks a maintenance window schedule the way Systems Manager
// documents it ("Reference: Cron and rate expressions for Systems Manager"):
//
//   - cron(Minutes Hours Day-of-month Month Day-of-week Year), six fields,
//     or seven with an optional leading Seconds field (0-59);
//     minutes 0-59, hours 0-23, day-of-month 1-31 (also ? L W LW),
//     month 1-12 or JAN-DEC, day-of-week 1-7 or SUN-SAT (also ? L and #),
//     year 1970-2199; every field takes lists (,), ranges (-), * and steps
//     (/); one of day-of-month and day-of-week must be ?.
//   - rate(N minutes|hours|days), N a positive integer (singular unit names
//     accepted as well).
//   - at(yyyy-mm-ddThh:mm:ss), a one-time window.
//
// It returns the kind, or an error saying what is wrong.
func parseSchedule(s string) (string, error) {
	switch {
	case strings.HasPrefix(s, "cron(") && strings.HasSuffix(s, ")"):
		return scheduleCron, parseCron(s[len("cron(") : len(s)-1])
	case strings.HasPrefix(s, "rate(") && strings.HasSuffix(s, ")"):
		return scheduleRate, parseRate(s[len("rate(") : len(s)-1])
	case strings.HasPrefix(s, "at(") && strings.HasSuffix(s, ")"):
		if _, err := time.Parse("2006-01-02T15:04:05", s[len("at("):len(s)-1]); err != nil {
			return scheduleAt, fmt.Errorf("at expression must be at(yyyy-mm-ddThh:mm:ss)")
		}
		return scheduleAt, nil
	}
	return "", fmt.Errorf("schedule must be a cron(...), rate(...) or at(...) expression")
}

func parseRate(body string) error {
	f := strings.Fields(body)
	if len(f) != 2 {
		return fmt.Errorf("rate expression must be rate(value unit)")
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n < 1 {
		return fmt.Errorf("rate value %q must be a positive integer", f[0])
	}
	switch f[1] {
	case "minute", "minutes", "hour", "hours", "day", "days":
		return nil
	}
	return fmt.Errorf("rate unit %q must be minutes, hours or days", f[1])
}

// cronField describes one field of a cron expression.
type cronField struct {
	name     string
	min, max int
	names    []string // names for min, min+1, ... (months, weekdays)
	question bool     // ? allowed
	last     bool     // L allowed
	weekday  bool     // W allowed (day-of-month)
	hash     bool     // # allowed (day-of-week)
}

var cronFields = [6]cronField{
	{name: "minutes", min: 0, max: 59},
	{name: "hours", min: 0, max: 23},
	{name: "day-of-month", min: 1, max: 31, question: true, last: true, weekday: true},
	{name: "month", min: 1, max: 12, names: []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}},
	{name: "day-of-week", min: 1, max: 7, names: []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}, question: true, last: true, hash: true},
	{name: "year", min: 1970, max: 2199},
}

func parseCron(body string) error {
	f := strings.Fields(body)
	if len(f) == len(cronFields)+1 {
		// An optional leading Seconds field, as in the SRA's own default
		// cron(0 0 1 ? * WED *) (01:00 on Wednesdays).
		if err := (cronField{name: "seconds", min: 0, max: 59}).check(f[0]); err != nil {
			return err
		}
		f = f[1:]
	}
	if len(f) != len(cronFields) {
		return fmt.Errorf("cron expression must have 6 fields (minutes hours day-of-month month day-of-week year), or 7 with seconds first, got %d", len(f))
	}
	for i, v := range f {
		if err := cronFields[i].check(v); err != nil {
			return err
		}
	}
	dom, dow := f[2], f[4]
	if (dom == "?") == (dow == "?") {
		return fmt.Errorf("cron expression must use ? in exactly one of day-of-month (%s) and day-of-week (%s)", dom, dow)
	}
	return nil
}

func (c cronField) check(v string) error {
	if v == "?" {
		if !c.question {
			return fmt.Errorf("cron %s field does not accept ?", c.name)
		}
		return nil
	}
	for _, item := range strings.Split(v, ",") {
		if err := c.item(item); err != nil {
			return fmt.Errorf("cron %s field %q: %w", c.name, v, err)
		}
	}
	return nil
}

func (c cronField) item(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty list item")
	case s == "*":
		return nil
	case c.last && s == "L":
		return nil
	case c.weekday && s == "LW":
		return nil
	case c.last && c.name == "day-of-month" && strings.HasPrefix(s, "L-"):
		n, err := strconv.Atoi(s[2:])
		if err != nil || n < 1 || n > 30 {
			return fmt.Errorf("L-n needs n in 1..30")
		}
		return nil
	case c.weekday && strings.HasSuffix(s, "W"):
		_, err := c.value(strings.TrimSuffix(s, "W"))
		return err
	case c.last && c.hash && strings.HasSuffix(s, "L"):
		_, err := c.value(strings.TrimSuffix(s, "L"))
		return err
	case c.hash && strings.Contains(s, "#"):
		day, nth, _ := strings.Cut(s, "#")
		if _, err := c.value(day); err != nil {
			return err
		}
		if n, err := strconv.Atoi(nth); err != nil || n < 1 || n > 5 {
			return fmt.Errorf("#n needs n in 1..5")
		}
		return nil
	}
	base, step, hasStep := strings.Cut(s, "/")
	if hasStep {
		n, err := strconv.Atoi(step)
		if err != nil || n < 1 || n > c.max {
			return fmt.Errorf("step %q must be an integer in 1..%d", step, c.max)
		}
		if base == "*" {
			return nil
		}
	}
	lo, hi, isRange := strings.Cut(base, "-")
	a, err := c.value(lo)
	if err != nil {
		return err
	}
	if isRange {
		b, err := c.value(hi)
		if err != nil {
			return err
		}
		if b < a && c.names == nil {
			return fmt.Errorf("range %s runs backwards", base)
		}
	}
	return nil
}

// value parses one number or name of the field.
func (c cronField) value(s string) (int, error) {
	for i, n := range c.names {
		if strings.EqualFold(s, n) {
			return c.min + i, nil
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < c.min || n > c.max {
		if c.names != nil {
			return 0, fmt.Errorf("%q must be %d-%d or %s-%s", s, c.min, c.max, c.names[0], c.names[len(c.names)-1])
		}
		return 0, fmt.Errorf("%q must be an integer in %d..%d", s, c.min, c.max)
	}
	return n, nil
}

// Occurrences returns the times, in order, at which a window with this
// schedule runs within (after, until]: cron in the schedule's time zone
// (UTC when empty) shifted by offset days (ScheduleOffset), rate counted from
// anchor (the window's StartDate, else its creation: AWS documents no
// anchor for rate windows, so this is the simulator's assumption), at() once.
// An invalid schedule has none; so has an unknown time zone.
func Occurrences(schedule, timezone string, offset int32, anchor, after, until time.Time) []time.Time {
	return occurrences(schedule, timezone, offset, anchor, after, until, -1)
}

// occurrences is Occurrences stopping after limit of them (< 0: all).
func occurrences(schedule, timezone string, offset int32, anchor, after, until time.Time, limit int) []time.Time {
	loc := time.UTC
	if timezone != "" {
		l, err := time.LoadLocation(timezone)
		if err != nil {
			return nil
		}
		loc = l
	}
	kind, err := parseSchedule(schedule)
	if err != nil || !until.After(after) {
		return nil
	}
	var out []time.Time
	switch kind {
	case scheduleAt:
		t, _ := time.ParseInLocation("2006-01-02T15:04:05", schedule[len("at("):len(schedule)-1], loc)
		if t.After(after) && !t.After(until) {
			out = append(out, t)
		}
	case scheduleRate:
		f := strings.Fields(schedule[len("rate(") : len(schedule)-1])
		n, _ := strconv.Atoi(f[0])
		step := time.Duration(n) * map[byte]time.Duration{'m': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour}[f[1][0]]
		k := int64(1)
		if after.After(anchor) {
			k = int64(after.Sub(anchor)/step) + 1
		}
		for t := anchor.Add(time.Duration(k) * step); !t.After(until) && len(out) != limit; t = t.Add(step) {
			if t.After(after) {
				out = append(out, t)
			}
		}
	case scheduleCron:
		c := compileCron(schedule[len("cron(") : len(schedule)-1])
		shift := time.Duration(offset) * 24 * time.Hour
		// Days, in the schedule's zone, on which a cron time shifted by the
		// offset can land in the interval.
		day := time.Date(after.In(loc).Year(), after.In(loc).Month(), after.In(loc).Day(), 0, 0, 0, 0, loc).Add(-shift - 24*time.Hour)
		for ; !day.After(until.Add(-shift)) && len(out) != limit; day = day.AddDate(0, 0, 1) {
			if !c.matchesDay(day) {
				continue
			}
			for _, h := range c.hours {
				for _, m := range c.minutes {
					t := time.Date(day.Year(), day.Month(), day.Day(), h, m, c.second, 0, loc)
					if t.Hour() != h {
						// A time the change to summer time skips runs when
						// the clock resumes, an hour later by the wall
						// (an assumption: AWS documents nothing).
						t = time.Date(day.Year(), day.Month(), day.Day(), h+1, m, c.second, 0, loc)
					}
					t = t.AddDate(0, 0, int(offset))
					if t.After(after) && !t.After(until) && len(out) != limit {
						out = append(out, t)
					}
				}
			}
		}
	}
	return out
}

// cronSpec is a parsed cron expression, as the schedule's zone reads it.
type cronSpec struct {
	second         int
	minutes, hours []int
	dom, dow       string
	months, years  map[int]bool
}

// compileCron reads an expression parseCron accepted.
func compileCron(body string) cronSpec {
	f := strings.Fields(body)
	var c cronSpec
	if len(f) == 7 {
		c.second, _ = strconv.Atoi(f[0])
		f = f[1:]
	}
	c.minutes = cronFields[0].expand(f[0])
	c.hours = cronFields[1].expand(f[1])
	c.dom, c.dow = f[2], f[4]
	c.months, c.years = map[int]bool{}, map[int]bool{}
	for _, m := range cronFields[3].expand(f[3]) {
		c.months[m] = true
	}
	for _, y := range cronFields[5].expand(f[5]) {
		c.years[y] = true
	}
	return c
}

// expand lists the values of a field of plain numbers, names, ranges, steps
// and lists.
func (c cronField) expand(v string) []int {
	var out []int
	for item := range strings.SplitSeq(v, ",") {
		if item == "*" || item == "?" {
			for n := c.min; n <= c.max; n++ {
				out = append(out, n)
			}
			continue
		}
		base, stepText, _ := strings.Cut(item, "/")
		step := 1
		if stepText != "" {
			step, _ = strconv.Atoi(stepText)
		}
		lo, hi := c.min, c.max
		if base != "*" {
			a, b, isRange := strings.Cut(base, "-")
			lo, _ = c.value(a)
			hi = lo
			if stepText != "" {
				hi = c.max
			}
			if isRange {
				hi, _ = c.value(b)
			}
		}
		if hi < lo { // a wrapping range of names, e.g. FRI-MON
			for n := lo; n <= c.max; n += step {
				out = append(out, n)
			}
			for n := c.min; n <= hi; n += step {
				out = append(out, n)
			}
			continue
		}
		for n := lo; n <= hi; n += step {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// matchesDay reports whether the cron runs on day (midnight in its zone).
func (c cronSpec) matchesDay(day time.Time) bool {
	if !c.years[day.Year()] || !c.months[int(day.Month())] {
		return false
	}
	last := time.Date(day.Year(), day.Month()+1, 0, 0, 0, 0, 0, day.Location()).Day()
	if c.dom != "?" {
		return slices.ContainsFunc(strings.Split(c.dom, ","), func(item string) bool { return domMatches(item, day, last) })
	}
	return slices.ContainsFunc(strings.Split(c.dow, ","), func(item string) bool { return dowMatches(item, day, last) })
}

func domMatches(item string, day time.Time, last int) bool {
	d := day.Day()
	switch {
	case item == "L":
		return d == last
	case item == "LW":
		return d == nearestWeekday(day, last, last)
	case strings.HasPrefix(item, "L-"):
		n, _ := strconv.Atoi(item[2:])
		return d == last-n
	case strings.HasSuffix(item, "W"):
		n, _ := strconv.Atoi(strings.TrimSuffix(item, "W"))
		return d == nearestWeekday(day, min(n, last), last)
	}
	return slices.Contains(cronFields[2].expand(item), d)
}

// nearestWeekday is the weekday nearest to day n of day's month, not
// leaving the month (cron's W).
func nearestWeekday(day time.Time, n, last int) int {
	t := time.Date(day.Year(), day.Month(), n, 0, 0, 0, 0, day.Location())
	switch t.Weekday() {
	case time.Saturday:
		if n == 1 {
			return 3
		}
		return n - 1
	case time.Sunday:
		if n == last {
			return n - 2
		}
		return n + 1
	}
	return n
}

func dowMatches(item string, day time.Time, last int) bool {
	wd := int(day.Weekday()) + 1 // cron: 1 is Sunday
	f := cronFields[4]
	switch {
	case item == "L":
		return wd == 7
	case strings.HasSuffix(item, "L"):
		n, _ := f.value(strings.TrimSuffix(item, "L"))
		return wd == n && day.Day()+7 > last
	case strings.Contains(item, "#"):
		d, nth, _ := strings.Cut(item, "#")
		n, _ := f.value(d)
		k, _ := strconv.Atoi(nth)
		return wd == n && (day.Day()-1)/7+1 == k
	}
	return slices.Contains(f.expand(item), wd)
}

// NextExecution is a window's next run after now, taking its StartDate and
// EndDate into account; zero when it has none within a year (or is
// disabled).
func (w *Window) NextExecution(now time.Time) time.Time {
	if !w.Enabled {
		return time.Time{}
	}
	from, until := now, now.AddDate(1, 0, 0)
	start, end := w.activeSpan()
	if !start.IsZero() && start.After(from) {
		from = start.Add(-time.Nanosecond)
		until = from.AddDate(1, 0, 0)
	}
	if !end.IsZero() && end.Before(until) {
		until = end
	}
	for _, t := range occurrences(w.Schedule, w.ScheduleTimezone, w.ScheduleOffset, w.anchor(), from, until, 1) {
		return t
	}
	return time.Time{}
}

// activeSpan is the window's StartDate and EndDate (zero when unset).
func (w *Window) activeSpan() (start, end time.Time) {
	if w.StartDate != "" {
		start, _ = parseISO8601(w.StartDate)
	}
	if w.EndDate != "" {
		end, _ = parseISO8601(w.EndDate)
	}
	return start, end
}

// anchor is where a rate schedule counts from.
func (w *Window) anchor() time.Time {
	if start, _ := w.activeSpan(); !start.IsZero() {
		return start
	}
	return w.Created
}
