package ssmsvc

import (
	"fmt"
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
