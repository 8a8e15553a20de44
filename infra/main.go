// Command infra is the orgpatch CDK app (cdk.json runs it): it compiles the
// Lambda from ./lambda and synthesizes the management stack, the member
// roles template and, when the home region is not us-east-1, the forwarder.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/orgpatch/orgpatch/infra/stacks"
)

func main() {
	err := run()
	// Close the jsii runtime (its node process) before exiting: os.Exit
	// skips deferred calls.
	jsii.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "orgpatch infra:", err)
		os.Exit(1)
	}
}

func run() error {
	app := awscdk.NewApp(nil)
	settings, err := stacks.SettingsFromContext(app)
	if err != nil {
		return err
	}
	root, err := stacks.ModuleRoot(".")
	if err != nil {
		return err
	}
	codeDir, err := os.MkdirTemp("", "orgpatch-bootstrap-")
	if err != nil {
		return fmt.Errorf("bootstrap directory: %w", err)
	}
	defer os.RemoveAll(codeDir)
	if err := stacks.BuildBootstrap(context.Background(), root, "./lambda", codeDir); err != nil {
		return err
	}
	if _, err := stacks.NewApp(app, stacks.AppProps{Settings: settings, CodeDir: codeDir}); err != nil {
		return err
	}
	app.Synth(nil)
	return nil
}
