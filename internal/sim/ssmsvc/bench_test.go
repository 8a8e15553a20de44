package ssmsvc

import (
	"encoding/json"
	"fmt"
	"testing"
)

// BenchmarkHandle measures one call on a service holding the states of a
// large organization (1,000 accounts x 17 regions, three windows each, as
// orgpatch leaves them): the cost the scale benchmark pays per call.
func BenchmarkHandle(b *testing.B) {
	s := New()
	type target struct {
		ctx Context
		win string
	}
	var targets []target
	for a := range 1000 {
		for r := range 17 {
			ctx := Context{Account: fmt.Sprintf("%012d", a), Region: fmt.Sprintf("region-%d", r), Now: testNow}
			var win string
			for i := range 3 {
				out, err := s.Handle(ctx, "CreateMaintenanceWindow", json.RawMessage(fmt.Sprintf(
					`{"Name":"orgpatch-%d","Schedule":"cron(0 2 ? * SUN *)","Duration":3,"Cutoff":1,"AllowUnassociatedTargets":false,"Tags":[{"Key":"orgpatch:owner","Value":"orgpatch"}]}`, i)))
				if err != nil {
					b.Fatal(err)
				}
				win = out.(windowIDOutput).WindowId
			}
			targets = append(targets, target{ctx, win})
		}
	}
	calls := map[string]func(target) (string, string){
		"DescribeMaintenanceWindows": func(target) (string, string) { return "DescribeMaintenanceWindows", `{"MaxResults":50}` },
		"GetMaintenanceWindow": func(t target) (string, string) {
			return "GetMaintenanceWindow", `{"WindowId":"` + t.win + `"}`
		},
		"UpdateMaintenanceWindow": func(t target) (string, string) {
			return "UpdateMaintenanceWindow", `{"WindowId":"` + t.win + `","Duration":4,"Cutoff":1}`
		},
	}
	for name, call := range calls {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				t := targets[i%len(targets)]
				op, body := call(t)
				if _, err := s.Handle(t.ctx, op, json.RawMessage(body)); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
