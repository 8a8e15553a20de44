package stacks

import (
	"os/exec"
	"strings"
	"testing"
)

// The CDK app links only what it deploys: the names it shares with the
// function come from internal/names, so `cdk synth` builds neither the
// Lambda's runtime nor the SDK service clients the function calls.
func TestInfraLinksNoRuntime(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/orgpatch/orgpatch/infra").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		switch {
		case pkg == "github.com/orgpatch/orgpatch/internal/handler",
			pkg == "github.com/orgpatch/orgpatch/internal/reconcile",
			pkg == "github.com/orgpatch/orgpatch/internal/run",
			strings.HasPrefix(pkg, "github.com/aws/aws-sdk-go-v2/service/"):
			t.Errorf("infra links %s; take shared names from internal/names instead", pkg)
		}
	}
}
