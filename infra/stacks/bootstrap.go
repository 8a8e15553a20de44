package stacks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// BuildBootstrap compiles the Lambda's main package (pkg, e.g. "./lambda",
// relative to moduleDir) into outDir/bootstrap for the provided.al2023
// runtime on arm64. It runs the local Go toolchain, so synth needs no
// network and no Docker. The build is reproducible (-trimpath, no VCS
// stamp), so an unchanged source yields an unchanged asset hash and
// `cdk deploy` does not replace the function for nothing.
func BuildBootstrap(ctx context.Context, moduleDir, pkg, outDir string) error {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("build bootstrap: %w", err)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("build bootstrap: the Go toolchain is needed to synthesize: %w", err)
	}
	cmd := exec.CommandContext(ctx, goBin, "build",
		"-tags", "lambda.norpc",
		"-trimpath",
		"-buildvcs=false",
		"-ldflags", "-s -w",
		"-o", filepath.Join(outDir, "bootstrap"),
		pkg,
	)
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("build bootstrap from %s: %w\n%s", pkg, err, out)
	}
	return nil
}

// ModuleRoot is the nearest directory at or above dir holding go.mod: where
// `go run ./infra` and `go test ./infra/...` find ./lambda from.
func ModuleRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("find module root: %w", err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find module root: no go.mod above the working directory")
		}
		dir = parent
	}
}
