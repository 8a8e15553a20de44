package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ScheduleKind tells the three forms of a maintenance-window schedule apart.
type ScheduleKind int

const (
	// CronSchedule is cron(...): runs at the times the fields select.
	CronSchedule ScheduleKind = iota + 1
	// RateSchedule is rate(N unit): runs every N minutes, hours or days.
	RateSchedule
	// AtSchedule is at(yyyy-mm-ddThh:mm:ss): runs once.
	AtSchedule
)

func (k ScheduleKind) String() string {
	switch k {
	case CronSchedule:
		return "cron"
	case RateSchedule:
		return "rate"
	case AtSchedule:
		return "at"
	}
	return "ScheduleKind(" + strconv.Itoa(int(k)) + ")"
}

// Schedule is a parsed maintenance-window schedule expression.
type Schedule struct {
	Kind ScheduleKind
	// Expr is the expression as written.
	Expr string
	// Every is the interval of a rate schedule.
	Every time.Duration
	// At is the wall-clock time of an at schedule, in UTC; SSM reads it in
	// the window's time zone.
	At time.Time
	// Cron holds the fields of a cron schedule.
	Cron *Cron
}

// Cron is a parsed SSM cron expression. Each set lists the values the field
// allows, ascending; the day fields carry the special forms besides.
type Cron struct {
	Seconds []int // [0] when the expression has no seconds field
	Minutes []int
	Hours   []int
	Months  []int // 1..12
	Years   []int // 1970..2199

	// DayOfMonth is the day-of-month field; exactly one of DayOfMonth and
	// DayOfWeek is Any ("?").
	DayOfMonth DayOfMonth
	DayOfWeek  DayOfWeek
}

// DayOfMonth is the day-of-month field of a cron expression.
type DayOfMonth struct {
	Any          bool  // "?"
	Days         []int // explicit days 1..31, with "*", lists, ranges, steps
	Last         bool  // "L": the last day of the month
	LastWeekday  bool  // "LW": the last weekday (MON-FRI) of the month
	NearestWkday int   // "15W": the weekday nearest the 15th, within the month
}

// DayOfWeek is the day-of-week field of a cron expression; days are 1
// (SUN) to 7 (SAT).
type DayOfWeek struct {
	Any  bool  // "?"
	Days []int // explicit days, with "*", lists, ranges
	// Last is "6L": the last such weekday of the month (0 when unused); a
	// bare "L" is Saturday, the last day of the week.
	Last int
	// Nth is "TUE#2": weekday Weekday's Nth (1..5) occurrence in the month.
	Nth, Weekday int
}

// ScheduleError says why an expression is not a valid SSM schedule.
type ScheduleError struct {
	Expr    string
	Problem string
}

func (e *ScheduleError) Error() string {
	return fmt.Sprintf("schedule %q: %s", e.Expr, e.Problem)
}

// MaxScheduleLength is the longest schedule the SSM API takes.
const MaxScheduleLength = 256

// ParseSchedule parses a maintenance-window schedule as SSM accepts it:
//
//   - cron(min hour day-of-month month day-of-week year), optionally with a
//     leading seconds field (the reference's cron(0 0 1 ? * WED *) is
//     01:00:00 on Wednesdays), with *, ?, ranges a-b, lists a,b, steps a/n and
//     a-b/n and */n, month names JAN-DEC and day names SUN-SAT
//     (case-insensitive), L and W and LW in day-of-month, L, 6L and TUE#2 in
//     day-of-week; exactly one of day-of-month and day-of-week must be "?".
//   - rate(N minute|minutes|hour|hours|day|days): singular for N = 1,
//     plural otherwise.
//   - at(yyyy-mm-ddThh:mm:ss): one run.
//
// Errors are *ScheduleError naming the field at fault and what it allows.
func ParseSchedule(s string) (Schedule, error) {
	fail := func(format string, args ...any) (Schedule, error) {
		return Schedule{}, &ScheduleError{Expr: s, Problem: fmt.Sprintf(format, args...)}
	}
	if s == "" {
		return fail("is empty; want cron(...), rate(...) or at(...)")
	}
	if len(s) > MaxScheduleLength {
		return fail("is %d characters long; at most %d are allowed", len(s), MaxScheduleLength)
	}
	open := strings.IndexByte(s, '(')
	if open < 0 || !strings.HasSuffix(s, ")") {
		return fail("is not of the form cron(...), rate(...) or at(...)")
	}
	kind, body := s[:open], s[open+1:len(s)-1]
	switch kind {
	case "cron":
		c, problem := parseCron(body)
		if problem != "" {
			return fail("%s", problem)
		}
		return Schedule{Kind: CronSchedule, Expr: s, Cron: c}, nil
	case "rate":
		d, problem := parseRate(body)
		if problem != "" {
			return fail("%s", problem)
		}
		return Schedule{Kind: RateSchedule, Expr: s, Every: d}, nil
	case "at":
		t, err := time.Parse("2006-01-02T15:04:05", body)
		if err != nil {
			return fail("at(...) wants a time yyyy-mm-ddThh:mm:ss, like at(2026-07-07T15:55:00)")
		}
		return Schedule{Kind: AtSchedule, Expr: s, At: t}, nil
	}
	return fail("kind %q is not one of cron, rate, at", kind)
}

var rateUnits = map[string]struct {
	unit     time.Duration
	singular bool
}{
	"minute": {time.Minute, true}, "minutes": {time.Minute, false},
	"hour": {time.Hour, true}, "hours": {time.Hour, false},
	"day": {24 * time.Hour, true}, "days": {24 * time.Hour, false},
}

func parseRate(body string) (time.Duration, string) {
	parts := strings.Split(body, " ")
	if len(parts) != 2 {
		return 0, "rate(...) wants a value and a unit separated by one space, like rate(7 days)"
	}
	n, err := strconv.Atoi(parts[0])
	if err != nil || n < 1 || parts[0][0] == '+' {
		return 0, fmt.Sprintf("rate value %q is not a positive whole number", parts[0])
	}
	u, ok := rateUnits[parts[1]]
	if !ok {
		return 0, fmt.Sprintf("rate unit %q is not one of minute(s), hour(s), day(s)", parts[1])
	}
	if n == 1 && !u.singular {
		return 0, fmt.Sprintf("rate unit %q must be singular for the value 1", parts[1])
	}
	if n != 1 && u.singular {
		return 0, fmt.Sprintf("rate unit %q must be plural for the value %d", parts[1], n)
	}
	// No real schedule comes near overflow; refuse rather than wrap.
	if int64(n) > int64(1<<62)/int64(u.unit) {
		return 0, fmt.Sprintf("rate value %d is too large", n)
	}
	return time.Duration(n) * u.unit, ""
}

// cronField describes one numeric cron field.
type cronField struct {
	name     string
	min, max int
	names    []string // names[i] is the value min+i; nil when the field has none
	allowed  string   // what the error message says the field allows
}

var (
	secondField = cronField{name: "seconds", min: 0, max: 59, allowed: "0-59"}
	minuteField = cronField{name: "minutes", min: 0, max: 59, allowed: "0-59"}
	hourField   = cronField{name: "hours", min: 0, max: 23, allowed: "0-23"}
	domField    = cronField{name: "day-of-month", min: 1, max: 31, allowed: "1-31"}
	monthField  = cronField{name: "month", min: 1, max: 12, allowed: "JAN-DEC or 1-12",
		names: []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}}
	dowField = cronField{name: "day-of-week", min: 1, max: 7, allowed: "SUN-SAT or 1-7",
		names: []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}}
	yearField = cronField{name: "year", min: 1970, max: 2199, allowed: "1970-2199"}
)

func parseCron(body string) (*Cron, string) {
	fields := strings.Fields(body)
	c := &Cron{Seconds: []int{0}}
	switch len(fields) {
	case 6:
	case 7:
		secs, problem := secondField.parseSet(fields[0])
		if problem != "" {
			return nil, problem
		}
		c.Seconds = secs
		fields = fields[1:]
	default:
		return nil, fmt.Sprintf("cron(...) has %d fields; want 6: minutes hours day-of-month month day-of-week year, or 7 with seconds first", len(fields))
	}
	var problem string
	if c.Minutes, problem = minuteField.parseSet(fields[0]); problem != "" {
		return nil, problem
	}
	if c.Hours, problem = hourField.parseSet(fields[1]); problem != "" {
		return nil, problem
	}
	if c.DayOfMonth, problem = parseDayOfMonth(fields[2]); problem != "" {
		return nil, problem
	}
	if c.Months, problem = monthField.parseSet(fields[3]); problem != "" {
		return nil, problem
	}
	if c.DayOfWeek, problem = parseDayOfWeek(fields[4]); problem != "" {
		return nil, problem
	}
	if c.Years, problem = yearField.parseSet(fields[5]); problem != "" {
		return nil, problem
	}
	switch {
	case c.DayOfMonth.Any && c.DayOfWeek.Any:
		return nil, "day-of-month and day-of-week are both \"?\"; exactly one of them must be"
	case !c.DayOfMonth.Any && !c.DayOfWeek.Any:
		return nil, fmt.Sprintf("day-of-month %q and day-of-week %q are both set; exactly one of them must be \"?\"", fields[2], fields[4])
	}
	return c, ""
}

func parseDayOfMonth(s string) (DayOfMonth, string) {
	up := strings.ToUpper(s)
	switch {
	case s == "?":
		return DayOfMonth{Any: true}, ""
	case up == "L":
		return DayOfMonth{Last: true}, ""
	case up == "LW":
		return DayOfMonth{LastWeekday: true}, ""
	case strings.HasSuffix(up, "W"):
		d, problem := domField.value(s[:len(s)-1])
		if problem != "" {
			return DayOfMonth{}, fmt.Sprintf("day-of-month %q: W follows one day 1-31, like 15W", s)
		}
		return DayOfMonth{NearestWkday: d}, ""
	}
	days, problem := domField.parseSet(s)
	return DayOfMonth{Days: days}, problem
}

func parseDayOfWeek(s string) (DayOfWeek, string) {
	up := strings.ToUpper(s)
	switch {
	case s == "?":
		return DayOfWeek{Any: true}, ""
	case up == "L":
		return DayOfWeek{Last: 7}, ""
	case strings.HasSuffix(up, "L"):
		d, problem := dowField.value(s[:len(s)-1])
		if problem != "" {
			return DayOfWeek{}, fmt.Sprintf("day-of-week %q: L follows one day SUN-SAT or 1-7, like 6L or FRIL", s)
		}
		return DayOfWeek{Last: d}, ""
	case strings.Contains(s, "#"):
		day, nth, _ := strings.Cut(s, "#")
		d, problem := dowField.value(day)
		if problem != "" {
			return DayOfWeek{}, fmt.Sprintf("day-of-week %q: %s", s, problem)
		}
		n, err := strconv.Atoi(nth)
		if err != nil || n < 1 || n > 5 || len(nth) != 1 {
			return DayOfWeek{}, fmt.Sprintf("day-of-week %q: the number after # is not one of 1-5", s)
		}
		return DayOfWeek{Nth: n, Weekday: d}, ""
	}
	days, problem := dowField.parseSet(s)
	return DayOfWeek{Days: days}, problem
}

// parseSet parses "*", "a", "a-b", "a/n", "a-b/n", "*/n" and comma lists of
// them into the ascending set of values they select.
func (f cronField) parseSet(s string) ([]int, string) {
	if s == "" {
		return nil, fmt.Sprintf("%s is empty; want %s", f.name, f.allowed)
	}
	if s == "?" {
		return nil, fmt.Sprintf("%s %q: \"?\" is only allowed in day-of-month or day-of-week", f.name, s)
	}
	seen := make([]bool, f.max-f.min+1)
	for _, item := range strings.Split(s, ",") {
		if item == "" {
			return nil, fmt.Sprintf("%s %q has an empty list item", f.name, s)
		}
		rng, stepText, hasStep := strings.Cut(item, "/")
		lo, hi := f.min, f.max
		switch {
		case rng == "*":
		case strings.Contains(rng, "-"):
			a, b, _ := strings.Cut(rng, "-")
			if a == "" || b == "" {
				return nil, fmt.Sprintf("%s range %q needs a value on each side of -", f.name, rng)
			}
			var problem string
			if lo, problem = f.value(a); problem != "" {
				return nil, problem
			}
			if hi, problem = f.value(b); problem != "" {
				return nil, problem
			}
			if lo > hi {
				return nil, fmt.Sprintf("%s range %q starts after it ends", f.name, rng)
			}
		default:
			v, problem := f.value(rng)
			if problem != "" {
				return nil, problem
			}
			lo = v
			if !hasStep {
				hi = v
			}
		}
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n < 1 || n > f.max-f.min+1 || stepText[0] == '+' {
				return nil, fmt.Sprintf("%s step %q is not a whole number 1-%d", f.name, stepText, f.max-f.min+1)
			}
			step = n
		}
		for v := lo; v <= hi; v += step {
			seen[v-f.min] = true
		}
	}
	var set []int
	for i, ok := range seen {
		if ok {
			set = append(set, f.min+i)
		}
	}
	return set, ""
}

// value parses one number or name of the field.
func (f cronField) value(s string) (int, string) {
	for i, n := range f.names {
		if strings.EqualFold(s, n) {
			return f.min + i, ""
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || s[0] == '+' || s[0] == '-' || n < f.min || n > f.max {
		return 0, fmt.Sprintf("%s %q is not one of %s", f.name, s, f.allowed)
	}
	return n, ""
}

// Next is the first time after t at which the schedule fires, reading its
// fields in loc (the window's ScheduleTimezone), and false when it never
// fires again. A rate schedule counts from when the window was created,
// which the expression does not say, so Next is false for it. A wall-clock
// time that a daylight-saving change skips moves forward by the skipped
// hour. A window's ScheduleOffset days come on top.
func (s Schedule) Next(t time.Time, loc *time.Location) (time.Time, bool) {
	switch s.Kind {
	case CronSchedule:
		return s.Cron.next(t, loc)
	case AtSchedule:
		at := time.Date(s.At.Year(), s.At.Month(), s.At.Day(), s.At.Hour(), s.At.Minute(), s.At.Second(), 0, loc)
		return at, at.After(t)
	}
	return time.Time{}, false
}

func (c *Cron) next(t time.Time, loc *time.Location) (time.Time, bool) {
	t = t.In(loc)
	lastYear := c.Years[len(c.Years)-1]
	for day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc); day.Year() <= lastYear; day = day.AddDate(0, 0, 1) {
		y, m, d := day.Date()
		if !slices.Contains(c.Years, y) {
			// Jump to the next allowed year, if any.
			i, _ := slices.BinarySearch(c.Years, y)
			if i == len(c.Years) {
				return time.Time{}, false
			}
			day = time.Date(c.Years[i], time.January, 1, 0, 0, 0, 0, loc).AddDate(0, 0, -1)
			continue
		}
		if !slices.Contains(c.Months, int(m)) || !c.DayOfMonth.matches(y, m, d) || !c.DayOfWeek.matches(y, m, d) {
			continue
		}
		for _, h := range c.Hours {
			for _, mi := range c.Minutes {
				for _, s := range c.Seconds {
					if at := wallClock(y, m, d, h, mi, s, loc); at.After(t) {
						return at, true
					}
				}
			}
		}
	}
	return time.Time{}, false
}

// wallClock is the time the clocks in loc show y-m-d h:mi:s; a time that a
// daylight-saving change skips (02:30 on a spring-forward night) is moved
// forward by the skipped amount (to 03:30).
func wallClock(y int, m time.Month, d, h, mi, s int, loc *time.Location) time.Time {
	at := time.Date(y, m, d, h, mi, s, 0, loc)
	if at.Hour() == h && at.Minute() == mi {
		return at
	}
	_, before := at.Zone()
	_, after := at.Add(3 * time.Hour).Zone()
	return at.Add(time.Duration(after-before) * time.Second)
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func weekday(y int, m time.Month, d int) time.Weekday {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Weekday()
}

func isWeekday(y int, m time.Month, d int) bool {
	wd := weekday(y, m, d)
	return wd != time.Saturday && wd != time.Sunday
}

func (f DayOfMonth) matches(y int, m time.Month, d int) bool {
	last := daysIn(y, m)
	switch {
	case f.Any:
		return true
	case f.Last:
		return d == last
	case f.LastWeekday:
		for w := last; ; w-- {
			if isWeekday(y, m, w) {
				return d == w
			}
		}
	case f.NearestWkday != 0:
		return d == nearestWeekday(y, m, f.NearestWkday)
	}
	return slices.Contains(f.Days, d)
}

// nearestWeekday is the weekday nearest day n without leaving the month, or
// 0 when the month has no day n.
func nearestWeekday(y int, m time.Month, n int) int {
	last := daysIn(y, m)
	if n > last {
		return 0
	}
	switch weekday(y, m, n) {
	case time.Saturday:
		if n == 1 {
			return 3 // Monday the 3rd
		}
		return n - 1
	case time.Sunday:
		if n == last {
			return n - 2 // Friday
		}
		return n + 1
	}
	return n
}

func (f DayOfWeek) matches(y int, m time.Month, d int) bool {
	wd := int(weekday(y, m, d)) + 1 // SUN is 1
	switch {
	case f.Any:
		return true
	case f.Last != 0:
		return wd == f.Last && d+7 > daysIn(y, m)
	case f.Nth != 0:
		return wd == f.Weekday && (d-1)/7+1 == f.Nth
	}
	return slices.Contains(f.Days, wd)
}
