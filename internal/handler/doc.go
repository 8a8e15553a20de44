// Package handler is the Lambda's behaviour: every input that reaches the
// function becomes a convergence of the organization, and every outcome is
// answered where someone waits for it.
//
// The contract:
//   - CloudFormation always gets its answer, SUCCESS or FAILED, before the
//     Lambda's deadline, even when the work panics or runs out of time: a
//     missing answer hangs the stack for an hour. The physical resource id
//     is always "orgpatch", so an Update never turns into a replacement and
//     a Delete always means the one resource. The Reason fits CloudFormation's
//     4 KB and names how many targets failed and the first of them.
//   - Deployed with the state machine (Deps.Executions), whole-organization
//     triggers (CloudFormation Create, Update, Delete; the schedule) start
//     one execution (states:StartExecution) named after the delivery, so a
//     redelivered trigger starts no second one, and return; the steps of
//     the execution come back as inputs of their own (trigger.Step):
//     discover, one work per batch of the Distributed Map, summarize, and
//     abort when a step failed. Summarize answers CloudFormation, abort
//     answers it FAILED with the step's error, so no stack waits for an
//     answer that never comes. A discover step waits (the state machine
//     asks again a minute later) while an older execution is running: at
//     most one run works at a time and no trigger is lost. Summarize
//     applies the stack's failure tolerance (Tolerance) to a Create's or
//     Update's answer: within it SUCCESS naming the failed accounts, the
//     execution still FAILED for the alarm. A step of a schedule run whose
//     configuration stopped being the stack's (a stack Update landed) does
//     nothing and fails nothing: the Update's own run, queued behind it,
//     converges the organization. Events about one
//     account (Control Tower, Organizations) run in the invocation.
//   - Create and Update store the configuration in one SSM parameter of the
//     management account; every other trigger reads it from there, so every
//     trigger sees one configuration, the disable flag included: while
//     disabled, no trigger creates anything (they all tear down).
//   - Actions are tied to their cause. A Delete, or an Update, is acted on
//     only while CloudFormation shows the stack in that operation
//     (DescribeStacks); a remove run, and the deletion of the
//     configuration parameter, only for such a verified Delete. The
//     previous configuration of an Update is the stored one, when the
//     request's old properties agree, never the request's word. A run's
//     request (with its presigned ResponseURL) and previous properties
//     are stored in the runs bucket; the execution's input names their
//     key, and every step verifies them again. A worker takes only its
//     batch's account ids (stepfn.Work derives the rest).
//   - An EventBridge event recorded in another account than the stack's
//     is refused before any call.
//   - Only the stack decides what accounts receive. Given the Stack (the
//     Lambda always is), a custom resource request for another stack, or
//     with properties the stack did not set, is refused (answered FAILED,
//     the invocation failed); the stored configuration counts only when its
//     properties are exactly the stack's. A configuration that is missing,
//     unreadable or not the stack's fails every other trigger with nothing
//     done, so the retries end in the dead-letter queue and its alarm: never
//     a silent no-op, never the defaults.
//   - Answers go only to CloudFormation's response bucket of the region, over
//     https, without following redirects; no log line or error carries the
//     presigned URL's query.
//   - The handler decides nothing about the fleet: it decodes the input,
//     settles the configuration (and, for an Update, the previous one), and
//     calls the core (internal/run) once. The core then also tears down what
//     an Update takes out of the configuration (regions dropped, accounts
//     newly excluded), exactly as `orgpatch plan --config NEW` shows it.
//   - Delete removes the owned windows (the DHMC setting is kept), then
//     deletes the configuration parameter, so a deleted stack leaves nothing
//     behind and no later trigger converges anything. A removal with failed
//     or unreached targets answers FAILED and keeps the parameter, so the
//     operator's retried Delete removes with the same configuration.
//   - An asynchronous event with failed targets returns an error naming them,
//     so Lambda retries it and then hands it to the dead-letter queue (and
//     its alarm); an ignored event returns nil.
//   - Promotion (package promotion): the schedule, when a ring follows
//     another (and the configuration is not disabled: a teardown needs no
//     pins), first runs the promotion cycle (promotionCycle: measure the
//     earlier rings through one compliance collection, read the gates'
//     alarms, decide, save, publish), then converges pinned to the state
//     saved; with the state machine, before it starts the execution. An
//     earlier ring's target that cannot be read holds the ring following it
//     (a decided hold, saved and published); a failure of the collection
//     itself, of the alarms or of the save holds every ring at its set
//     (said in the log and Result.Promotion) and the converge runs with
//     the state as it was. Every converging path (CloudFormation,
//     account events, the schedule, each Step Functions worker) pins
//     through PinnedConfig (run.Env.Pinned); a state that cannot be read
//     fails the run with nothing converged, never unpinned.
//   - Every invocation logs JSON lines carrying the request id and the
//     trigger, one summary line, and one CloudWatch embedded-metric-format
//     line (namespace orgpatch) with the target counts, writes by kind and
//     the duration.
package handler
