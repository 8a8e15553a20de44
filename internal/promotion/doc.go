// Package promotion ties a ring's approvals to what the ring before it
// tested: prod's baselines approve exactly the set of patches dev had when
// dev's gate held, and prod waits, with a reason, until it does.
//
// Rings alone give each ring its own schedule and approval delay. That
// approximates "dev before prod" but ties nothing together: a patch
// released between the two windows, a dev window that failed, a dev ring
// where a fifth of the installs broke, and prod goes ahead all the same.
// Promotion closes that gap with three things orgpatch already has: it owns
// every ring's baselines, it reads every node's patch state (package
// compliance), and it runs on a schedule across the organization.
//
// # The chain and the set
//
// A ring's configuration (config.Promotion) names the EARLIER ring it
// follows, a soak time and a gate. Rings that follow one another form a
// chain (dev -> test -> prod); each ring is followed by at most one ring.
//
// A Set is what a ring may install: a cut-off date (approve what was
// released on or before it) and, for baselines pinned by list, the patch
// ids per operating system. The first ring of a chain keeps its approval
// delay as configured; its set is the cut-off that delay gives
// (date(now) - approveAfterDays), snapshotted when a cycle starts: when
// the ring has no set yet, or when its set has been promoted to the ring
// following it (so the set prod's gate measures does not move during
// prod's soak), or when a person promotes it with a cut-off. A following
// ring takes the earlier ring's set when the gate holds after the soak; a
// ring in the middle of a chain keeps its set until its follower has it.
//
// # The cycle, one scheduled run
//
//  1. Load the State (Store.Load) from promotion/state.json in the runs
//     bucket.
//  2. Measure the earlier rings (Measure over the compliance collection's
//     node records, whose Ring is the account's ring NOW: an account that
//     moved between rings during a soak counts for the ring it is in when
//     measured) and read the gates' alarms (ReadAlarms). The same
//     collection reads the ids the rings InstalledRings names installed
//     (compliance.Env.InstalledRings): the list a ring pinned by
//     approvedPatches takes (Inputs.Installed).
//  3. Decide (a pure function) what each ring does: start-cycle, promote,
//     hold or unchanged, each Decision with its figures and reason.
//  4. Apply the decisions to the state and save it with a conditional
//     write (Update: If-None-Match to create, If-Match to change; on a
//     lost race it re-reads and decides again).
//  5. Publish an event per promotion, cycle start and new or changed hold
//     (Publisher: EventBridge and the alarm SNS topic), after the save;
//     an event that fails to publish stays in the state and is retried
//     by the next run.
//
// Pin is the one function every converging path applies to the
// configuration it loads: it returns the configuration with each promoted
// ring's baselines pinned to its set (approval rules' approveAfterDays
// replaced by approveUntilDate = the cut-off, or, for baselines with
// promotionPin approvedPatches, the approved patch list = the set's ids
// and the rules cleared). A ring of a chain that has no set yet (the first
// run) is not pinned: it keeps its configured delay until its first
// promotion, and Decide says so.
//
// # The decisions
//
// Decide holds a following ring, and says why, when: the earlier ring has
// no set; a person holds it; the soak has not passed; the earlier ring has
// no managed nodes ("nothing was tested"); installed% is below the gate's
// minimum, failed% or stale% above its maximum (exactly at a threshold
// holds); an alarm is ALARM, INSUFFICIENT_DATA or missing; or the set
// needs more than 50 patch ids for a baseline pinned by list (the SSM
// model's PatchIdList). Otherwise it promotes. Promote and Hold are a
// person's overrides (the CLI's orgpatch promote and orgpatch hold): a
// hold by a person sticks until a person promotes the ring.
//
// Rings added, removed or re-chained mid-cycle: state for a ring the
// configuration no longer has is dropped (Decide reports it); a new ring
// starts with no set; a ring whose follows changed keeps its set (it is
// still what its nodes were tested with) and is measured against the new
// earlier ring from then on.
//
// View is what `orgpatch rings` shows (each ring's set, hold, and the
// next run's decision with the gate's figures now), WriteText how it
// prints them, and ReadInputs what it measures them on (the earlier
// rings' nodes in one compliance collection, and the alarms); Next is the
// configuration the next run converges to (what `plan` compares).
// CheckPromote and CheckHold are the overrides' input checks, which the
// CLI makes before any AWS call.
// Scheduled and Override are the entry points that load, decide, save
// and publish.
//
// docs/promotion.md is the user's guide.
package promotion
