package sim_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/orgpatch/orgpatch/internal/sim"
)

// BenchmarkServe measures the simulator's own cost per call (no network, no
// SDK): the budget a 1,000-account x 17-region run spends half a million
// times.
func BenchmarkServe(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts []sim.Option
	}{
		{"log params", nil},
		{"without params", []sim.Option{sim.WithoutCallParams()}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			srv, err := sim.New(sim.GenerateOrg(sim.GenerateOptions{Accounts: 10}), bc.opts...)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"Filters":[{"Key":"Name","Values":["x"]}]}`))
				req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/eu-west-1/ssm/aws4_request, SignedHeaders=host, Signature=00")
				req.Header.Set("X-Amz-Target", "AmazonSSM.DescribeMaintenanceWindows")
				w := httptest.NewRecorder()
				srv.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}
