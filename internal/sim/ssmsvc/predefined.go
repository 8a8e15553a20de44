package ssmsvc

import (
	"fmt"
	"hash/fnv"
	"time"
)

// awsBaselineOwner is the account that owns AWS's predefined patch
// baselines in the simulator. The API Reference's examples show
// 733109147000 (us-east-2); AWS uses other owner accounts in some Regions
// and partitions. The simulator uses this one everywhere (an assumption: no
// caller may rely on the owner account, only on the full ARN).
const awsBaselineOwner = "733109147000"

// predefinedBaseline is one of AWS's predefined baselines: its name, its
// operating system, and whether it is that operating system's default.
type predefinedBaseline struct {
	name, os, description string
	isDefault             bool
}

// predefinedBaselines are AWS's predefined patch baselines, one default per
// operating system the SSM model's OperatingSystem enum lists, plus the two
// other Windows Server baselines, as the Patch Manager user guide
// ("Predefined and custom patch baselines") names them.
var predefinedBaselines = []predefinedBaseline{
	{"AWS-DefaultPatchBaseline", "WINDOWS", "Default Patch Baseline Provided by AWS.", true},
	{"AWS-WindowsPredefinedPatchBaseline-OS", "WINDOWS", "Default Patch Baseline for Windows Provided by AWS.", false},
	{"AWS-WindowsPredefinedPatchBaseline-OS-Applications", "WINDOWS", "Default Patch Baseline for Windows and Microsoft Applications Provided by AWS.", false},
	{"AWS-AmazonLinuxDefaultPatchBaseline", "AMAZON_LINUX", "Default Patch Baseline for Amazon Linux Provided by AWS.", true},
	{"AWS-AmazonLinux2DefaultPatchBaseline", "AMAZON_LINUX_2", "Default Patch Baseline for Amazon Linux 2 Provided by AWS.", true},
	{"AWS-AmazonLinux2022DefaultPatchBaseline", "AMAZON_LINUX_2022", "Default Patch Baseline for Amazon Linux 2022 Provided by AWS.", true},
	{"AWS-AmazonLinux2023DefaultPatchBaseline", "AMAZON_LINUX_2023", "Default Patch Baseline for Amazon Linux 2023 Provided by AWS.", true},
	{"AWS-UbuntuDefaultPatchBaseline", "UBUNTU", "Default Patch Baseline for Ubuntu Provided by AWS.", true},
	{"AWS-RedHatDefaultPatchBaseline", "REDHAT_ENTERPRISE_LINUX", "Default Patch Baseline for Redhat Enterprise Linux Provided by AWS.", true},
	{"AWS-SuseDefaultPatchBaseline", "SUSE", "Default Patch Baseline for Suse Provided by AWS.", true},
	{"AWS-CentOSDefaultPatchBaseline", "CENTOS", "Default Patch Baseline for CentOS Provided by AWS.", true},
	{"AWS-OracleLinuxDefaultPatchBaseline", "ORACLE_LINUX", "Default Patch Baseline for Oracle Linux Provided by AWS.", true},
	{"AWS-DebianDefaultPatchBaseline", "DEBIAN", "Default Patch Baseline for Debian Provided by AWS.", true},
	{"AWS-MacOSDefaultPatchBaseline", "MACOS", "Default Patch Baseline for MacOS Provided by AWS.", true},
	{"AWS-RaspbianDefaultPatchBaseline", "RASPBIAN", "Default Patch Baseline for Raspbian Provided by AWS.", true},
	{"AWS-RockyLinuxDefaultPatchBaseline", "ROCKY_LINUX", "Default Patch Baseline for Rocky Linux Provided by AWS.", true},
	{"AWS-AlmaLinuxDefaultPatchBaseline", "ALMA_LINUX", "Default Patch Baseline for Alma Linux Provided by AWS.", true},
}

// predefinedEpoch is the creation date the simulator gives every
// predefined baseline.
var predefinedEpoch = time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC)

// predefinedID is the stable ARN of a predefined baseline in a region:
// AWS's ids differ per Region and stay the same over time, so the
// simulator derives "pb-" and 17 hex digits from the region and the name.
func predefinedID(partition, region, name string) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%s", region, name)
	n := h.Sum64()
	return fmt.Sprintf("arn:%s:ssm:%s:%s:patchbaseline/pb-%x%016x", partition, region, awsBaselineOwner, n>>60, mix(n))
}

// predefined returns the predefined baselines of a region, new copies
// (they are read-only: updates and deletes of them are refused).
func predefined(partition, region string) []*Baseline {
	out := make([]*Baseline, len(predefinedBaselines))
	for i, p := range predefinedBaselines {
		out[i] = &Baseline{ID: predefinedID(partition, region, p.name), Name: p.name, OperatingSystem: p.os,
			Description: p.description, ApprovedPatchesComplianceLevel: defaultComplianceLevel,
			RejectedPatchesAction: defaultRejectedAction, Created: predefinedEpoch, Modified: predefinedEpoch, Predefined: true}
	}
	return out
}

// predefinedByID returns the predefined baseline with the ARN id, nil when
// none has it.
func predefinedByID(partition, region, id string) *Baseline {
	for _, b := range predefined(partition, region) {
		if b.ID == id {
			return b
		}
	}
	return nil
}

// predefinedDefault returns AWS's default baseline of os in the region.
func predefinedDefault(partition, region, os string) *Baseline {
	for i, p := range predefinedBaselines {
		if p.os == os && p.isDefault {
			return predefined(partition, region)[i]
		}
	}
	panic("no predefined default baseline for " + os) // the model's enum and the table agree; a test checks it
}
