// Package demo tells orgpatch's whole story on a simulated organization, so
// that a platform engineer can watch what it does before handing it a real one:
// what a deployment creates, how a new account is treated, what drift repair
// and an update change, how prod gets only the patches dev tested (and waits
// while dev is unhealthy), and what disabling leaves behind.
//
// The contract: every step acts as AWS would act on orgpatch (CloudFormation
// custom resource requests, Control Tower and schedule events, all through
// the real Lambda handler, with CloudFormation's answer captured on loopback)
// and as a person would act on the accounts (through the SDK); every step then
// checks its outcome against the simulator's state and call log, and Run
// fails with a *StepError naming each check that did not hold. Simulated
// time stands still until the promotion step advances it: the maintenance
// windows that fall due then run AWS-RunPatchBaseline on the machines, with
// the simulator's injected install failures where that step asks for them. A demo that
// passes is evidence, not a recording: nothing in its output is scripted.
package demo
