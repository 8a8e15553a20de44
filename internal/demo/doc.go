// Package demo tells orgpatch's whole story on a simulated organization, so
// that a platform engineer can watch what it does before handing it a real one:
// what a deployment creates, how a new account is treated, what drift repair
// and an update change, and what disabling leaves behind.
//
// The contract: every step acts as AWS would act on orgpatch (CloudFormation
// custom resource requests, Control Tower and schedule events, all through
// the real Lambda handler, with CloudFormation's answer captured on loopback)
// and as a person would act on the accounts (through the SDK); every step then
// checks its outcome against the simulator's state and call log, and Run
// fails with a *StepError naming each check that did not hold. A demo that
// passes is evidence, not a recording: nothing in its output is scripted.
package demo
