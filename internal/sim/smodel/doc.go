// Package smodel validates simulated AWS requests against the real service
// models, so the simulator refuses what AWS refuses: a missing required
// member, a string too short or too long, a value outside its pattern, range
// or enum, a list with too many items, at any depth of the input. Members the
// model does not know are ignored, as AWS ignores them.
//
// The models are the input shapes of the implemented operations, extracted
// from botocore's service-2.json files by internal/gen (run `go generate`
// here after a botocore upgrade) and embedded, so the simulator needs no
// Python at run time.
//
// Patterns are the models' Java regular expressions run by Go's RE2:
// \uXXXX escapes are rewritten as \x{XXXX} (and the models' \u10000..\u10FFFF
// as the supplementary code points they mean), repeat counts above RE2's
// limit of 1000 lose their upper bound (the member's length limit still
// holds), and the one lookahead the models use, ^(?!\s*$) "not blank", is
// checked in Go. A pattern that still does not compile is recorded as
// skipped in the model file and not checked; none does today.
package smodel

//go:generate go run ./internal/gen -out models
