package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCommittedModelsAreCurrent fails when the embedded models differ from
// what the machine's botocore yields: run `go generate ./internal/sim/smodel`.
func TestCommittedModelsAreCurrent(t *testing.T) {
	dir, err := botocoreDir()
	if err != nil {
		t.Skipf("no botocore on this machine: %v", err)
	}
	files, err := generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join("..", "..", "models", name))
		if err != nil {
			t.Fatalf("committed model: %v", err)
		}
		if string(got) != string(want) {
			t.Errorf("models/%s differs from what botocore at %s yields; run go generate", name, dir)
		}
	}
}

func TestTranslate(t *testing.T) {
	tests := map[string]struct {
		java, goPattern string
		skipped         bool
	}{
		"plain":              {java: `^[a-z]+$`, goPattern: `^(?:^[a-z]+$)$`},
		"unicode escapes":    {java: `[\u0020-\u007E]+`, goPattern: `^(?:[\x{0020}-\x{007E}]+)$`},
		"supplementary":      {java: `[\u10000-\u10FFFF]`, goPattern: `^(?:[\x{10000}-\x{10FFFF}])$`},
		"repeat above 1000":  {java: `^.{1,100000}$`, goPattern: `^(?:^.{1,}$)$`},
		"repeat within 1000": {java: `^.{1,1000}$`, goPattern: `^(?:^.{1,1000}$)$`},
		"lookahead":          {java: `^(?=.{20,2048}$)arn:.*`, skipped: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			g, skip := translate(tc.java)
			if g != tc.goPattern || (skip != "") != tc.skipped {
				t.Errorf("translate(%q) = %q, skipped %q; want %q, skipped %v", tc.java, g, skip, tc.goPattern, tc.skipped)
			}
		})
	}
}
