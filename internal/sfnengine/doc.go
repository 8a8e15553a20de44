// Package sfnengine proves the whole-organization state machine in a Step
// Functions engine the team did not write.
package sfnengine
