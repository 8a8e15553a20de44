// Package fleet answers "where": which accounts of the organization and which
// regions a run converges, and as whom it acts in each account.
//
// The contract:
//   - Accounts are the ACTIVE accounts of the organization, the management
//     account included, minus those excluded by exact account id or by
//     organizational unit; an excluded OU excludes everything nested under it.
//     Excluded accounts are returned marked, not dropped, so that a run can
//     report them and a run that names one can tear it down (a level-based
//     answer to "this account was moved into an excluded OU").
//   - Regions come from the explicit list, else Control Tower's governed
//     regions (else the SRA prerequisites' SSM parameter), else the default
//     list; a region an account has not opted in to is skipped for it.
//   - Credentials: the configuration role is assumed once per account per run
//     and the credentials are cached and refreshed by the SDK's cache; every
//     client comes from the management aws.Config, so its endpoint and retry
//     policy (internal/awsconf) hold for member accounts too.
//   - Walk is the only fan-out over account x region targets, for converge,
//     plan, teardown and the compliance report alike: accounts prepared
//     (role assumed, a throttled AssumeRole tried again, a named account's
//     missing role waited for, opted-in regions read) and targets visited,
//     each stage at most Concurrency at once (errgroup SetLimit, never
//     WithContext: one target's failure never cancels another), each target
//     with its own deadline; within the reserve before the context's
//     deadline nothing starts. Every target is visited or told why not.
package fleet
