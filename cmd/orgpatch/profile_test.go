package main

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestProfileWritesThisProcesssProfile(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "p")
	t.Setenv(profileEnv, prefix)
	stop := startProfile()
	stop()
	b, err := os.ReadFile(prefix + "." + strconv.Itoa(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b { // pprof's profiles are gzipped protobuf
		t.Errorf("%s holds %d bytes, not a gzipped profile", profileEnv, len(b))
	}
}
