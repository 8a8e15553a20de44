package ssmsvc

import (
	"slices"
	"testing"
	"time"
)

func TestParseSchedule(t *testing.T) {
	tests := map[string]struct {
		in      string
		kind    string
		wantErr bool
	}{
		"weekly cron":                {in: "cron(0 2 ? * SUN *)", kind: scheduleCron},
		"lower-case names":           {in: "cron(30 4 ? jan-mar mon-fri *)", kind: scheduleCron},
		"lists steps and ranges":     {in: "cron(0/15 1,3,5-7 ? * 2-6 2025-2030)", kind: scheduleCron},
		"last day of month":          {in: "cron(0 0 L * ? *)", kind: scheduleCron},
		"nearest weekday":            {in: "cron(0 0 15W * ? *)", kind: scheduleCron},
		"last weekday of month":      {in: "cron(0 0 LW * ? *)", kind: scheduleCron},
		"second tuesday":             {in: "cron(0 3 ? * TUE#2 *)", kind: scheduleCron},
		"last friday":                {in: "cron(0 3 ? * 6L *)", kind: scheduleCron},
		"day of month with ? in dow": {in: "cron(0 0 1 * ? *)", kind: scheduleCron},
		"five fields":                {in: "cron(0 2 ? * SUN)", wantErr: true},
		"seconds field, SRA default": {in: "cron(0 0 1 ? * WED *)", kind: scheduleCron},
		"seconds 60":                 {in: "cron(60 0 1 ? * WED *)", wantErr: true},
		"eight fields":               {in: "cron(0 0 0 2 ? * SUN *)", wantErr: true},
		"minute 60":                  {in: "cron(60 2 ? * SUN *)", wantErr: true},
		"hour 24":                    {in: "cron(0 24 ? * SUN *)", wantErr: true},
		"both day fields set":        {in: "cron(0 2 1 * SUN *)", wantErr: true},
		"neither day field set":      {in: "cron(0 2 ? * ? *)", wantErr: true},
		"unknown weekday":            {in: "cron(0 2 ? * FUN *)", wantErr: true},
		"# in day-of-month":          {in: "cron(0 2 1#2 * ? *)", wantErr: true},
		"sixth weekday occurrence":   {in: "cron(0 2 ? * MON#6 *)", wantErr: true},
		"year out of range":          {in: "cron(0 2 ? * SUN 2200)", wantErr: true},
		"zero step":                  {in: "cron(*/0 2 ? * SUN *)", wantErr: true},
		"empty list item":            {in: "cron(0 1,,2 ? * SUN *)", wantErr: true},
		"rate in days":               {in: "rate(7 days)", kind: scheduleRate},
		"rate singular":              {in: "rate(1 hour)", kind: scheduleRate},
		"rate zero":                  {in: "rate(0 days)", wantErr: true},
		"rate weeks":                 {in: "rate(2 weeks)", wantErr: true},
		"rate without unit":          {in: "rate(5)", wantErr: true},
		"at":                         {in: "at(2030-01-02T03:04:05)", kind: scheduleAt},
		"at with bad date":           {in: "at(2030-13-02T03:04:05)", wantErr: true},
		"plain words":                {in: "every sunday", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			kind, err := parseSchedule(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseSchedule(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			}
			if err == nil && kind != tc.kind {
				t.Errorf("parseSchedule(%q) kind = %q, want %q", tc.in, kind, tc.kind)
			}
		})
	}
}

func TestOccurrences(t *testing.T) {
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		name, schedule, tz string
		offset             int32
		anchor             string
		after, until       string
		want               []string
	}{
		{"Sundays 02:00", "cron(0 2 ? * SUN *)", "", 0, "", "2026-03-01T02:00:00Z", "2026-03-15T02:00:00Z",
			[]string{"2026-03-08T02:00:00Z", "2026-03-15T02:00:00Z"}},
		{"in a time zone", "cron(0 2 ? * SUN *)", "America/New_York", 0, "", "2026-03-01T00:00:00Z", "2026-03-09T00:00:00Z",
			[]string{"2026-03-01T07:00:00Z", "2026-03-08T07:00:00Z"}}, // 8 March: EDT starts at 02:00, so 02:00 does not exist and is 03:00 EDT
		{"offset two days", "cron(0 2 ? * SUN *)", "", 2, "", "2026-03-01T00:00:00Z", "2026-03-12T00:00:00Z",
			[]string{"2026-03-03T02:00:00Z", "2026-03-10T02:00:00Z"}},
		{"second Tuesday", "cron(30 23 ? * TUE#2 *)", "", 0, "", "2026-01-01T00:00:00Z", "2026-03-31T00:00:00Z",
			[]string{"2026-01-13T23:30:00Z", "2026-02-10T23:30:00Z", "2026-03-10T23:30:00Z"}},
		{"last day of month, two hours", "cron(0 1,13 L * ? *)", "", 0, "", "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z",
			[]string{"2026-02-28T01:00:00Z", "2026-02-28T13:00:00Z"}},
		{"seconds field", "cron(0 0 1 ? * WED *)", "", 0, "", "2026-03-01T00:00:00Z", "2026-03-05T00:00:00Z",
			[]string{"2026-03-04T01:00:00Z"}},
		{"rate from the anchor", "rate(6 hours)", "", 0, "2026-03-01T00:00:00Z", "2026-03-01T05:00:00Z", "2026-03-01T18:00:00Z",
			[]string{"2026-03-01T06:00:00Z", "2026-03-01T12:00:00Z", "2026-03-01T18:00:00Z"}},
		{"at once", "at(2026-03-02T10:00:00)", "Europe/Berlin", 0, "", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z",
			[]string{"2026-03-02T09:00:00Z"}},
		{"at, already past", "at(2026-03-02T10:00:00)", "", 0, "", "2026-03-02T10:00:00Z", "2026-04-01T00:00:00Z", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var anchor time.Time
			if tc.anchor != "" {
				anchor = utc(tc.anchor)
			}
			var got []string
			for _, o := range Occurrences(tc.schedule, tc.tz, tc.offset, anchor, utc(tc.after), utc(tc.until)) {
				got = append(got, o.UTC().Format(time.RFC3339))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Occurrences = %v, want %v", got, tc.want)
			}
		})
	}
}
