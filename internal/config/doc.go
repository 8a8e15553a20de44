// Package config is orgpatch's desired configuration: which maintenance
// windows (each with one tag target and one Run Command task) every account
// x region holds, which roles are used, which regions and accounts are
// converged, whether DHMC is managed, and whether everything is torn down.
//
// It exists so that a bad configuration fails before the first AWS call,
// with every problem named at once, instead of part-way through an
// organization. Whatever the source, callers get either a Config that passed
// Validate, or an error: a decode error naming the field, or a
// *ValidationError listing each problem as field path (in the JSON names,
// like windows[1].schedule), value and what is allowed. Validate applies the
// SSM API's own patterns, lengths, ranges and enums, parses schedules as SSM
// does (ParseSchedule: cron, rate and at expressions), and resolves time
// zones from the embedded IANA database, so it works in the Lambda.
//
// Default() is the reference solution's (SRA patch_mgmt_org) configuration:
// the windows sra_ssm_agent_update, sra_windows_maintenance and
// sra_linux_maintenance. An empty window list is valid and means "no
// windows": every window orgpatch owns is removed, DHMC is still managed.
//
// # Sources
//
// Decode reads a JSON or YAML file (the JSON names rule both); fields it
// leaves out keep Default()'s values, a windows list replaces the default
// windows, and unknown fields are errors. JSON writes the canonical form a
// run stores so that scheduled runs converge to the same configuration;
// Decode reads it back unchanged.
//
// A file that patches Linux instances tagged PatchGroup=linux every second
// Tuesday, installing without reboot, in two regions, leaving every other
// setting at its default:
//
//	windows:
//	  - name: linux-install
//	    schedule: cron(0 2 ? * TUE#2 *)
//	    scheduleTimezone: Europe/Berlin
//	    target: {name: linux-hosts, tagKey: PatchGroup, tagValues: [linux]}
//	    task:
//	      name: linux-install
//	      document: AWS-RunPatchBaseline
//	      operation: Install
//	      rebootOption: NoReboot
//	regions: [eu-central-1, eu-west-1]
//
// # Baselines and rings
//
// Baselines (baselines.go) are the patch baselines every account x region
// holds: approval rules, global filters, approved and rejected patches,
// and where each is used (the default for its operating system, named patch
// groups). Validate applies the SSM model's limits and enums and the
// documented rules: the filter keys each operating system takes,
// approveAfterDays or approveUntilDate (not both), one default per
// operating system, a patch group with one baseline per operating system.
//
// Rings (rings.go) configure sets of accounts apart, dev before prod: each
// selects accounts by OU (nested OUs included), account id or
// Organizations account tag, and overrides what differs (whole window or
// baseline lists, some fields of named windows, the approval delay). Every
// account takes the first ring that selects it, else the settings above;
// ForRing gives the configuration its accounts converge to. Package fleet
// resolves the rings; a ring that selects nothing is a warning there, not
// an error here.
//
//	baselines:
//	  - name: al2-security
//	    operatingSystem: AMAZON_LINUX_2
//	    default: true
//	    approvalRules:
//	      - filters: [{key: CLASSIFICATION, values: [Security]}]
//	        approveAfterDays: 7
//	rings:
//	  - name: dev
//	    select: {ous: [ou-ab12-devaccts]}
//	    approveAfterDays: 0
//
// testdata/rings.yaml is a complete example.
//
// A ring may carry a promotion (promotion.go): it follows an earlier ring
// (each ring is followed by at most one), waits a soak and passes a gate
// (percentages of installed, failed and stale nodes, CloudWatch alarms)
// before it takes that ring's set of patches; a baseline's promotionPin
// says how a promoted ring pins it (approveUntilDate, or approvedPatches
// of at most 50 ids). Validate checks the chain, the soak, the gate;
// PinRing applies a set to a ring's baselines. Package promotion decides
// when; docs/promotion.md explains it.
//
// FromProperties reads the custom resource's properties. CloudFormation
// passes every value as a string. The properties, all optional:
//
//	Configuration            a whole configuration as JSON (or YAML), as Decode
//	                         reads it; Default() when absent or empty
//	Disabled                 "true" or "false" (any case): tear down and stay down
//	Operation                Scan | Install, for every AWS-RunPatchBaseline task
//	RebootOption             RebootIfNeeded | NoReboot, likewise
//	Regions                  comma list of regions; "" means none given (use
//	                         Control Tower's or the default regions)
//	ControlTowerRegionsOnly  "true" or "false"
//	ExcludedAccounts         comma list of 12-digit account ids
//	ExcludedOUs              comma list of OU ids (ou-...)
//	ConfigurationRoleName    role the Lambda assumes in each account
//	TaskRoleName             maintenance-window task role
//	DHMCRoleName             DHMC role, path included (service-role/Name)
//	Window1Schedule          schedule of the 1st window of the list
//	Window2Schedule          schedule of the 2nd window
//	Window3Schedule          schedule of the 3rd window
//
// The other properties apply on top of Configuration, in that order. An
// empty string leaves the field as Configuration has it, except for the
// lists, where "" is the empty list, and the booleans, which take only true
// or false. Lists may also arrive as lists of strings. A WindowNSchedule for
// a window the list does not have is an error. ServiceToken and
// ServiceTimeout are CloudFormation's and ignored; any other name is an
// error listing the allowed ones.
package config
