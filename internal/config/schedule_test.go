package config

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func seq(lo, hi, step int) []int {
	var out []int
	for v := lo; v <= hi; v += step {
		out = append(out, v)
	}
	return out
}

func TestParseScheduleAccepts(t *testing.T) {
	years := seq(1970, 2199, 1)
	months := seq(1, 12, 1)
	cases := map[string]struct {
		expr string
		want Schedule
	}{
		"SRA default, with seconds: 01:00 every Wednesday": {
			expr: "cron(0 0 1 ? * WED *)",
			want: Schedule{Kind: CronSchedule, Cron: &Cron{
				Seconds: []int{0}, Minutes: []int{0}, Hours: []int{1},
				DayOfMonth: DayOfMonth{Any: true}, Months: months,
				DayOfWeek: DayOfWeek{Days: []int{4}}, Years: years,
			}},
		},
		"first of the month at 00:00": {
			expr: "cron(0 0 1 * ? *)",
			want: Schedule{Kind: CronSchedule, Cron: &Cron{
				Seconds: []int{0}, Minutes: []int{0}, Hours: []int{0},
				DayOfMonth: DayOfMonth{Days: []int{1}}, Months: months,
				DayOfWeek: DayOfWeek{Any: true}, Years: years,
			}},
		},
		"second Tuesday": {
			expr: "cron(0 2 ? * TUE#2 *)",
			want: Schedule{Kind: CronSchedule, Cron: &Cron{
				Seconds: []int{0}, Minutes: []int{0}, Hours: []int{2},
				DayOfMonth: DayOfMonth{Any: true}, Months: months,
				DayOfWeek: DayOfWeek{Nth: 2, Weekday: 3}, Years: years,
			}},
		},
		"last day of the month": {
			expr: "cron(0 0 L * ? *)",
			want: Schedule{Kind: CronSchedule, Cron: &Cron{
				Seconds: []int{0}, Minutes: []int{0}, Hours: []int{0},
				DayOfMonth: DayOfMonth{Last: true}, Months: months,
				DayOfWeek: DayOfWeek{Any: true}, Years: years,
			}},
		},
		"last Friday of each month in 2026": {
			expr: "cron(15 10 ? * 6L 2026)",
			want: Schedule{Kind: CronSchedule, Cron: &Cron{
				Seconds: []int{0}, Minutes: []int{15}, Hours: []int{10},
				DayOfMonth: DayOfMonth{Any: true}, Months: months,
				DayOfWeek: DayOfWeek{Last: 6}, Years: []int{2026},
			}},
		},
		"every 30 minutes on weekdays": {
			expr: "cron(0/30 * ? * MON-FRI *)",
			want: Schedule{Kind: CronSchedule, Cron: &Cron{
				Seconds: []int{0}, Minutes: []int{0, 30}, Hours: seq(0, 23, 1),
				DayOfMonth: DayOfMonth{Any: true}, Months: months,
				DayOfWeek: DayOfWeek{Days: []int{2, 3, 4, 5, 6}}, Years: years,
			}},
		},
		"lists, ranges with steps, month names in any case, 2-digit hour": {
			expr: "cron(5,10-20/5 09 1-15/7 jan,Mar-MAY ? 2026-2030/2)",
			want: Schedule{Kind: CronSchedule, Cron: &Cron{
				Seconds: []int{0}, Minutes: []int{5, 10, 15, 20}, Hours: []int{9},
				DayOfMonth: DayOfMonth{Days: []int{1, 8, 15}}, Months: []int{1, 3, 4, 5},
				DayOfWeek: DayOfWeek{Any: true}, Years: []int{2026, 2028, 2030},
			}},
		},
		"weekday nearest the 15th": {
			expr: "cron(0 3 15W * ? *)",
			want: Schedule{Kind: CronSchedule, Cron: &Cron{
				Seconds: []int{0}, Minutes: []int{0}, Hours: []int{3},
				DayOfMonth: DayOfMonth{NearestWkday: 15}, Months: months,
				DayOfWeek: DayOfWeek{Any: true}, Years: years,
			}},
		},
		"last weekday of the month": {
			expr: "cron(0 3 LW * ? *)",
			want: Schedule{Kind: CronSchedule, Cron: &Cron{
				Seconds: []int{0}, Minutes: []int{0}, Hours: []int{3},
				DayOfMonth: DayOfMonth{LastWeekday: true}, Months: months,
				DayOfWeek: DayOfWeek{Any: true}, Years: years,
			}},
		},
		"optional seconds field, as in the SSM guide": {
			expr: "cron(0 0 2 ? 1/1 THU#3 *)",
			want: Schedule{Kind: CronSchedule, Cron: &Cron{
				Seconds: []int{0}, Minutes: []int{0}, Hours: []int{2},
				DayOfMonth: DayOfMonth{Any: true}, Months: months,
				DayOfWeek: DayOfWeek{Nth: 3, Weekday: 5}, Years: years,
			}},
		},
		"every day, * in day-of-month": {
			expr: "cron(0 10 * * ? *)",
			want: Schedule{Kind: CronSchedule, Cron: &Cron{
				Seconds: []int{0}, Minutes: []int{0}, Hours: []int{10},
				DayOfMonth: DayOfMonth{Days: seq(1, 31, 1)}, Months: months,
				DayOfWeek: DayOfWeek{Any: true}, Years: years,
			}},
		},
		"rate, singular":   {expr: "rate(1 hour)", want: Schedule{Kind: RateSchedule, Every: time.Hour}},
		"rate, plural":     {expr: "rate(7 days)", want: Schedule{Kind: RateSchedule, Every: 7 * 24 * time.Hour}},
		"rate, minutes":    {expr: "rate(30 minutes)", want: Schedule{Kind: RateSchedule, Every: 30 * time.Minute}},
		"rate, one day":    {expr: "rate(1 day)", want: Schedule{Kind: RateSchedule, Every: 24 * time.Hour}},
		"rate, 1 minute":   {expr: "rate(1 minute)", want: Schedule{Kind: RateSchedule, Every: time.Minute}},
		"at, a single run": {expr: "at(2026-07-07T15:55:00)", want: Schedule{Kind: AtSchedule, At: time.Date(2026, 7, 7, 15, 55, 0, 0, time.UTC)}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParseSchedule(tc.expr)
			if err != nil {
				t.Fatalf("ParseSchedule(%q): %v", tc.expr, err)
			}
			tc.want.Expr = tc.expr
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseSchedule(%q) (-want +got):\n%s", tc.expr, diff)
			}
		})
	}
}

func TestParseScheduleRejects(t *testing.T) {
	cases := map[string]struct {
		expr, problem string
	}{
		"empty":              {"", `is empty; want cron(...), rate(...) or at(...)`},
		"no parentheses":     {"0 0 1 ? * WED *", `is not of the form cron(...), rate(...) or at(...)`},
		"unknown kind":       {"every(7 days)", `kind "every" is not one of cron, rate, at`},
		"five fields":        {"cron(0 1 ? * WED)", `cron(...) has 5 fields; want 6: minutes hours day-of-month month day-of-week year, or 7 with seconds first`},
		"eight fields":       {"cron(0 0 0 ? * WED * *)", `cron(...) has 8 fields; want 6: minutes hours day-of-month month day-of-week year, or 7 with seconds first`},
		"bad day name":       {"cron(0 0 1 ? * XYZ *)", `day-of-week "XYZ" is not one of SUN-SAT or 1-7`},
		"day-of-week 0":      {"cron(0 0 1 ? * 0 *)", `day-of-week "0" is not one of SUN-SAT or 1-7`},
		"minute 60":          {"cron(60 1 ? * WED *)", `minutes "60" is not one of 0-59`},
		"hour 24":            {"cron(0 24 ? * WED *)", `hours "24" is not one of 0-23`},
		"day 32":             {"cron(0 1 32 * ? *)", `day-of-month "32" is not one of 1-31`},
		"month 13":           {"cron(0 1 1 13 ? *)", `month "13" is not one of JAN-DEC or 1-12`},
		"bad month name":     {"cron(0 1 1 JANUARY ? *)", `month "JANUARY" is not one of JAN-DEC or 1-12`},
		"year 1969":          {"cron(0 1 1 * ? 1969)", `year "1969" is not one of 1970-2199`},
		"both days ?":        {"cron(0 1 ? * ? *)", `day-of-month and day-of-week are both "?"; exactly one of them must be`},
		"both days set":      {"cron(0 1 * * MON *)", `day-of-month "*" and day-of-week "MON" are both set; exactly one of them must be "?"`},
		"? in minutes":       {"cron(? 1 ? * MON *)", `minutes "?": "?" is only allowed in day-of-month or day-of-week`},
		"backward range":     {"cron(0 1 ? * FRI-MON *)", `day-of-week range "FRI-MON" starts after it ends`},
		"zero step":          {"cron(0/0 1 ? * MON *)", `minutes step "0" is not a whole number 1-60`},
		"empty list item":    {"cron(0,,5 1 ? * MON *)", `minutes "0,,5" has an empty list item`},
		"nth 6":              {"cron(0 1 ? * TUE#6 *)", `day-of-week "TUE#6": the number after # is not one of 1-5`},
		"nth bad day":        {"cron(0 1 ? * XYZ#1 *)", `day-of-week "XYZ#1": day-of-week "XYZ" is not one of SUN-SAT or 1-7`},
		"L after bad day":    {"cron(0 1 ? * 8L *)", `day-of-week "8L": L follows one day SUN-SAT or 1-7, like 6L or FRIL`},
		"W after a range":    {"cron(0 1 1-5W * ? *)", `day-of-month "1-5W": W follows one day 1-31, like 15W`},
		"negative minute":    {"cron(-1 1 ? * MON *)", `minutes range "-1" needs a value on each side of -`},
		"rate zero":          {"rate(0 days)", `rate value "0" is not a positive whole number`},
		"rate negative":      {"rate(-1 days)", `rate value "-1" is not a positive whole number`},
		"rate singular of 2": {"rate(2 day)", `rate unit "day" must be plural for the value 2`},
		"rate plural of 1":   {"rate(1 days)", `rate unit "days" must be singular for the value 1`},
		"rate weeks":         {"rate(2 weeks)", `rate unit "weeks" is not one of minute(s), hour(s), day(s)`},
		"rate no unit":       {"rate(7)", `rate(...) wants a value and a unit separated by one space, like rate(7 days)`},
		"at with zone":       {"at(2026-07-07T15:55:00Z)", `at(...) wants a time yyyy-mm-ddThh:mm:ss, like at(2026-07-07T15:55:00)`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParseSchedule(tc.expr)
			var se *ScheduleError
			if !errors.As(err, &se) {
				t.Fatalf("ParseSchedule(%q) = %+v, %v; want a *ScheduleError", tc.expr, got, err)
			}
			want := &ScheduleError{Expr: tc.expr, Problem: tc.problem}
			if diff := cmp.Diff(want, se); diff != "" {
				t.Errorf("ParseSchedule(%q) error (-want +got):\n%s", tc.expr, diff)
			}
		})
	}
}

func TestScheduleErrorNamesTheExpression(t *testing.T) {
	_, err := ParseSchedule("rate(2 week)")
	want := `schedule "rate(2 week)": rate unit "week" is not one of minute(s), hour(s), day(s)`
	if err == nil || err.Error() != want {
		t.Errorf("ParseSchedule error = %v; want %s", err, want)
	}
}

func TestParseScheduleTooLong(t *testing.T) {
	expr := "cron(0 1 ? * MON " + string(make([]byte, 300)) + ")"
	_, err := ParseSchedule(expr)
	var se *ScheduleError
	if !errors.As(err, &se) || se.Problem != "is 318 characters long; at most 256 are allowed" {
		t.Errorf("ParseSchedule(318 characters) = %v; want the length problem", err)
	}
}

func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{
		"cron(0 0 1 ? * WED *)", "cron(0 2 ? * TUE#2 *)", "cron(0 0 L * ? *)",
		"cron(15 10 ? * 6L 2026)", "cron(0/30 * ? * MON-FRI *)", "cron(0 3 15W * ? *)",
		"cron(0 0 2 ? 1/1 THU#3 *)", "cron(5,10-20/5 9 1-15/7 JAN ? 2026-2030/2)",
		"rate(1 hour)", "rate(7 days)", "at(2026-07-07T15:55:00)",
		"cron(", "cron()", "rate( )", "cron(*/ * ? * # *)", "cron(0 0 W * ? *)", "cron(0 0 ? * #1 *)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseSchedule(s)
		if err != nil {
			var se *ScheduleError
			if !errors.As(err, &se) || se.Expr != s {
				t.Fatalf("ParseSchedule(%q) error %v is not a *ScheduleError for the expression", s, err)
			}
			return
		}
		if got.Expr != s {
			t.Fatalf("ParseSchedule(%q).Expr = %q", s, got.Expr)
		}
		if got.Kind == CronSchedule && got.Cron.DayOfMonth.Any == got.Cron.DayOfWeek.Any {
			t.Fatalf("ParseSchedule(%q) accepted both or neither day field as ?", s)
		}
		after := time.Date(2026, 11, 22, 14, 0, 0, 0, time.UTC)
		if next, ok := got.Next(after, time.UTC); ok && !next.After(after) {
			t.Fatalf("ParseSchedule(%q).Next(%v) = %v, not after", s, after, next)
		}
	})
}

func TestScheduleNext(t *testing.T) {
	load := func(name string) *time.Location {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		return loc
	}
	newYork, tokyo := load("America/New_York"), load("Asia/Tokyo")
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := map[string]struct {
		expr  string
		after time.Time
		loc   *time.Location
		want  time.Time // zero: never again
	}{
		"SRA agent update: Wednesday 01:00 New York":      {"cron(0 0 1 ? * WED *)", utc("2026-11-22T14:00:00Z"), newYork, utc("2026-11-25T06:00:00Z")},
		"second Tuesday, this month's passed":             {"cron(0 2 ? * TUE#2 *)", utc("2026-11-22T00:00:00Z"), time.UTC, utc("2026-12-08T02:00:00Z")},
		"last day of February":                            {"cron(0 0 L * ? *)", utc("2026-02-10T00:00:00Z"), time.UTC, utc("2026-02-28T00:00:00Z")},
		"last Friday of November":                         {"cron(15 10 ? * 6L 2026)", utc("2026-11-22T00:00:00Z"), time.UTC, utc("2026-11-27T10:15:00Z")},
		"no last Friday left in the only year":            {"cron(15 10 ? * 6L 2026)", utc("2026-12-26T00:00:00Z"), time.UTC, time.Time{}},
		"15th is a Saturday: Friday the 14th":             {"cron(0 3 15W * ? *)", utc("2026-08-01T00:00:00Z"), time.UTC, utc("2026-08-14T03:00:00Z")},
		"1st is a Saturday: Monday the 3rd":               {"cron(0 3 1W * ? *)", utc("2026-07-31T12:00:00Z"), time.UTC, utc("2026-08-03T03:00:00Z")},
		"31st is a Sunday: Friday the 29th, not June 1st": {"cron(0 3 31W * ? *)", utc("2026-05-01T00:00:00Z"), time.UTC, utc("2026-05-29T03:00:00Z")},
		"no 31st in November: December 31st":              {"cron(0 3 31W * ? *)", utc("2026-11-01T00:00:00Z"), time.UTC, utc("2026-12-31T03:00:00Z")},
		"month ends on a Sunday: last weekday Friday":     {"cron(0 3 LW * ? *)", utc("2026-05-01T00:00:00Z"), time.UTC, utc("2026-05-29T03:00:00Z")},
		"every 30 minutes on weekdays, over a weekend":    {"cron(0/30 * ? * MON-FRI *)", utc("2026-11-27T23:50:00Z"), time.UTC, utc("2026-11-30T00:00:00Z")},
		"same minute is not after":                        {"cron(0/30 * ? * MON-FRI *)", utc("2026-11-27T23:30:00Z"), time.UTC, utc("2026-11-28T00:00:00Z").AddDate(0, 0, 2)},
		"a later year":                                    {"cron(0 0 1 * ? 2030)", utc("2026-11-22T00:00:00Z"), time.UTC, utc("2030-01-01T00:00:00Z")},
		"February 30th never comes":                       {"cron(0 0 30 FEB ? *)", utc("2026-11-22T00:00:00Z"), time.UTC, time.Time{}},
		"02:30 skipped by daylight saving fires at 3:30":  {"cron(30 2 ? * SUN *)", utc("2026-03-07T12:00:00Z"), newYork, utc("2026-03-08T07:30:00Z")},
		"seconds field":                                   {"cron(30 0 1 ? * WED *)", utc("2026-11-25T06:00:00Z"), newYork, utc("2026-11-25T06:00:30Z")},
		"at, in Tokyo":                                    {"at(2026-12-01T10:00:00)", utc("2026-11-22T00:00:00Z"), tokyo, utc("2026-12-01T01:00:00Z")},
		"at, passed":                                      {"at(2026-12-01T10:00:00)", utc("2026-12-01T01:00:00Z"), tokyo, time.Time{}},
		"rate has no anchor":                              {"rate(7 days)", utc("2026-11-22T00:00:00Z"), time.UTC, time.Time{}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s, err := ParseSchedule(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := s.Next(tc.after, tc.loc)
			if ok != !tc.want.IsZero() || (ok && !got.Equal(tc.want)) {
				t.Errorf("Next(%s) = %v, %v; want %v", tc.after.Format(time.RFC3339), got.UTC(), ok, tc.want)
			}
		})
	}
}
