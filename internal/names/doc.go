// Package names holds the names two sides of orgpatch must agree on: the
// CDK app (infra) that deploys the function, its roles, bucket and alarms,
// and the code that runs in the function. A tag the member roles' IAM
// conditions require is the tag reconcile writes; an environment variable
// the stack sets is the one the Lambda reads; a metric an alarm watches is
// the one the handler emits.
//
// It is a leaf: it imports nothing of orgpatch's (nor anything else), so
// infra links the names without linking the Lambda's runtime or the SDK
// service clients the function uses (go list -deps ./infra shows neither
// internal/handler, internal/reconcile nor internal/run).
package names
