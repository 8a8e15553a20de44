package main

import (
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
)

// profileEnv names the file prefix of a CPU profile of this process:
// ORGPATCH_CPUPROFILE=/tmp/p writes /tmp/p.<pid> (the bench's processes
// each write their own). It is how the figures under `make bench` were
// taken apart: go tool pprof bin/orgpatch /tmp/p.<pid>.
const profileEnv = "ORGPATCH_CPUPROFILE"

// startProfile starts the CPU profile profileEnv asks for and returns what
// stops it; a profile that cannot start is said on stderr, and the command
// runs all the same.
func startProfile() (stop func()) {
	prefix := os.Getenv(profileEnv)
	if prefix == "" {
		return func() {}
	}
	f, err := os.Create(prefix + "." + strconv.Itoa(os.Getpid()))
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "orgpatch: %s: %v\n", profileEnv, err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
