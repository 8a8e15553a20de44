package ssmsvc

import "testing"

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
