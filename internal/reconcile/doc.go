// Package reconcile makes one account x region hold exactly the desired
// patching setup: the configured maintenance windows, each with its one
// target and one task, and the Default Host Management Configuration (DHMC)
// service setting. No more and no less, however many times it runs and
// whatever fails part-way.
//
// It works in three steps. Observe reads what is there now: only windows
// carrying the ownership tag createdBy=SRA_Patch_Management count as ours
// (so windows left by the reference solution are adopted, not duplicated),
// and windows without it are never touched. Plan is a pure function of the
// desired and observed state that decides, before any write, what to
// create, update, delete, reset or leave unchanged. Apply executes that plan
// in a safe order and stops at the first failed write.
//
// Every write is idempotent, so re-running after any failure converges:
// a create whose answer was lost is found by the next observe (the
// ownership tag is given at create time, so there is never an untagged
// orphan); DoesNotExist on a delete or deregister means done; updates send
// only what differs. A run over a converged account x region makes no write.
//
// Whatever the plan says, no task is written that CheckTask refuses (another
// document, a parameter outside the allowlist, a role other than the task
// role): IAM cannot express those rules for the configuration role.
package reconcile
