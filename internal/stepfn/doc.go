// Package stepfn is the Step Functions adapter of a whole-organization
// run: the payloads a Distributed Map passes, the store of a run's
// objects, and the map's emulation in this process. It exists so that the
// wire protocol stays at the edge: the core (internal/run) knows no JSON,
// and local runs and single-account events call it directly, while a run
// too large for one Lambda invocation is cut into batches here.
//
// The contract:
//   - Three steps over the core: Discover (run.Decide -> the work items,
//     one per account with its regions by mode and its ring, and the run's
//     record, in the Store), Work (one batch of items -> run.Converge -> one
//     record per target) and Summarize (the map's manifest and result files
//     -> the report, run.Complete). The JSON shapes are the state machine's
//     (infra/stacks/state_machine.go) and the samples' (events/): they do
//     not change without both.
//   - A worker trusts nothing of its batch but the account ids: the
//     configurations are the caller's own (the handler's stored and
//     previous ones), and each account's state, exclusion, ring and
//     regions by mode are derived again from Organizations (run.Decide
//     with Request.Only). A batch that says anything else than the
//     derivation is refused, naming the item's field and why, before any
//     write; one that does not decode (configuration, mode, account id,
//     ring) before any AWS call.
//   - Batches are sized from the cost model (Sizing, from run.TargetCost:
//     an account's derivation, then its targets) so that one finishes
//     well inside a worker's time and its result fits Step Functions'
//     payload limit whatever its targets' outcomes: sized from the
//     worst-case record, which Work holds every record to (FitRecord).
//   - The run's coverage is Discover's: Discovery carries the items
//     file's SHA-256 through the execution's own state, and Summarize
//     refuses an items file that does not match it, and a result naming an
//     account the run did not discover.
//   - A batch of a run the stack's configuration change superseded does
//     nothing (Superseded: its targets skipped); the handler decides.
//   - Nothing starves: a target no successful batch reported (its batch
//     failed, or never ran) is not started, and the run fails naming it.
//   - Store: the stack's S3 bucket deployed (S3Store), a MemoryStore in
//     this process. LocalMap and MapBatches do what the Distributed Map
//     does (batches, concurrency, a worker's time limit, ResultWriter's
//     files); Run chains the steps over them, which `bench -workers` and
//     the parity test with run.Run use.
package stepfn
