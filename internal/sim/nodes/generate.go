package nodes

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"regexp"
	"time"
)

var idPattern = regexp.MustCompile(`^(i|mi)-[0-9a-f]{17}$`)

// platform is one operating system the generator installs.
type platform struct {
	typ, name, version, baseline string
	os, product, family          string // as baselines and the catalog name them
	catalogue                    []Patch
}

// The generator's world. Baseline ids are AWS's predefined baselines in
// us-east-1 (AWS-AmazonLinux2023DefaultPatchBaseline and
// AWS-DefaultPatchBaseline for Windows); the simulator does not check them
// against a baseline store. Those baselines set no compliance level, so AWS
// reports every patch of theirs as UNSPECIFIED whatever its vendor severity:
// the catalogue's patches leave ComplianceSeverity empty, which Put and the
// generator read as UNSPECIFIED.
var platforms = []platform{
	{Linux, "Amazon Linux", "2023", "pb-0b6c3b4e8f5a1d2c3", "AMAZON_LINUX_2023", "AmazonLinux2023", "AmazonLinux", []Patch{
		{ID: "kernel.x86_64:0:6.1.112-124.190.amzn2023", Title: "kernel", Classification: "Security", Severity: "Important", CVEIds: "CVE-2024-46713"},
		{ID: "openssl-libs.x86_64:1:3.0.8-1.amzn2023.0.14", Title: "openssl-libs", Classification: "Security", Severity: "Critical", CVEIds: "CVE-2024-5535"},
		{ID: "curl.x86_64:0:8.5.0-1.amzn2023.0.4", Title: "curl", Classification: "Security", Severity: "Medium", CVEIds: "CVE-2024-2398"},
		{ID: "tzdata.noarch:0:2024a-1.amzn2023.0.1", Title: "tzdata", Classification: "Bugfix", Severity: "None"},
		{ID: "sudo.x86_64:0:1.9.15-1.p5.amzn2023.0.1", Title: "sudo", Classification: "Security", Severity: "Low"},
	}},
	{Windows, "Microsoft Windows Server 2022 Datacenter", "10.0.20348", "pb-0d7e1f2a3b4c5d6e7", "WINDOWS", "WindowsServer2022", "Windows", []Patch{
		{ID: "KB5044281", Title: "2024-10 Cumulative Update for Microsoft server operating system version 21H2 for x64-based Systems (KB5044281)", Classification: "SecurityUpdates", Severity: "Critical"},
		{ID: "KB890830", Title: "Windows Malicious Software Removal Tool x64 - v5.128 (KB890830)", Classification: "UpdateRollups", Severity: "Unspecified"},
		{ID: "KB5043936", Title: "2024-09 Servicing Stack Update for Microsoft server operating system version 21H2 (KB5043936)", Classification: "SecurityUpdates", Severity: "Important"},
		{ID: "KB4052623", Title: "Update for Microsoft Defender Antivirus antimalware platform (KB4052623)", Classification: "DefinitionUpdates", Severity: "Unspecified"},
	}},
	{Linux, "Ubuntu", "22.04", "pb-0a1b2c3d4e5f60718", "UBUNTU", "Ubuntu22.04", "Ubuntu", []Patch{
		{ID: "openssh-server", Title: "openssh-server 1:8.9p1-3ubuntu0.10", Classification: "Security", Severity: "High", CVEIds: "CVE-2024-6387"},
		{ID: "libc6", Title: "libc6 2.35-0ubuntu3.8", Classification: "Security", Severity: "Medium"},
		{ID: "vim", Title: "vim 2:8.2.3995-1ubuntu2.19", Classification: "Security", Severity: "Low"},
	}},
}

// Agent versions the generator hands out; the last two are older than
// 3.0.502, the version the SRA solution requires.
var agentVersions = []string{"3.3.1142.0", "3.3.987.0", "3.2.582.0", "3.0.431.0", "2.3.1319.0"}

// Generate returns n machines for account x region, the same for the same
// arguments: about one in twelve an EC2 instance the SSM Agent does not
// report; of the managed ones, most online, some with the connection lost
// or inactive; most scanned within a day, some weeks ago, a few never; about
// a third missing or failing a patch.
func Generate(account, region string, n int, epoch time.Time) []Node {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%s", account, region)
	rng := rand.New(rand.NewPCG(h.Sum64(), 0x0dd5))
	out := make([]Node, 0, n)
	for i := range n {
		p := platforms[pick(rng, 60, 25, 15)]
		node := Node{
			ID:              fmt.Sprintf("i-0%016x", rng.Uint64()),
			State:           "running",
			Launched:        epoch.Add(-time.Duration(30+rng.IntN(300)) * 24 * time.Hour),
			Platform:        p.typ,
			PlatformName:    p.name,
			PlatformVersion: p.version,
			IPAddress:       fmt.Sprintf("10.%d.%d.%d", rng.IntN(256), rng.IntN(256), 1+rng.IntN(254)),
		}
		node.ComputerName = fmt.Sprintf("ip-%s.ec2.internal", node.IPAddress)
		node.Tags = map[string]string{"Name": fmt.Sprintf("%s-%s-%02d", shortPlatform(p), region, i)}
		if rng.IntN(12) == 0 {
			out = append(out, node) // not managed: no agent reports it
			continue
		}
		node.Managed = true
		node.PingStatus = []string{Online, ConnectionLost, Inactive}[pick(rng, 90, 7, 3)]
		node.LastPing = epoch.Add(-time.Duration(rng.IntN(3600)) * time.Second)
		if node.PingStatus != Online {
			node.LastPing = epoch.Add(-time.Duration(2+rng.IntN(20)) * 24 * time.Hour)
		}
		node.AgentVersion = agentVersions[pick(rng, 50, 25, 15, 7, 3)]
		node.Tags["Patch Group"] = "default"
		switch pick(rng, 85, 10, 5) {
		case 0:
			node.Patch = patchState(rng, p, epoch.Add(-time.Duration(1+rng.IntN(20))*time.Hour))
		case 1:
			node.Patch = patchState(rng, p, epoch.Add(-time.Duration(8+rng.IntN(40))*24*time.Hour))
		}
		out = append(out, node)
	}
	return out
}

func patchState(rng *rand.Rand, p platform, ended time.Time) *PatchState {
	ps := &PatchState{
		PatchGroup: "default", BaselineID: p.baseline, Operation: []string{"Scan", "Install"}[rng.IntN(2)],
		Started: ended.Add(-time.Duration(2+rng.IntN(20)) * time.Minute), Ended: ended,
		ExecutionID:  fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", rng.Uint32(), rng.IntN(1<<16), rng.IntN(1<<12), rng.IntN(1<<12), rng.Uint64()&0xffffffffffff),
		RebootOption: "RebootIfNeeded",
	}
	nonCompliant := -1 // the index of a patch surely not compliant
	if rng.IntN(3) == 0 {
		nonCompliant = rng.IntN(len(p.catalogue))
	}
	for j, patch := range p.catalogue {
		patch.ComplianceSeverity = Unspecified
		patch.State = Installed
		patch.InstalledTime = ended.Add(-time.Duration(1+rng.IntN(90)) * 24 * time.Hour)
		if nonCompliant >= 0 && (j == nonCompliant || rng.IntN(4) == 0) {
			patch.State = []string{Missing, Failed, InstalledPendingReboot}[pick(rng, 80, 10, 10)]
			if patch.State != InstalledPendingReboot {
				patch.InstalledTime = time.Time{}
			}
		}
		ps.Patches = append(ps.Patches, patch)
	}
	return ps
}

func shortPlatform(p platform) string {
	switch p.name {
	case "Amazon Linux":
		return "al2023"
	case "Ubuntu":
		return "ubuntu"
	}
	return "win"
}

// pick returns i with probability weights[i] / sum(weights).
func pick(rng *rand.Rand, weights ...int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	r := rng.IntN(total)
	for i, w := range weights {
		if r < w {
			return i
		}
		r -= w
	}
	return len(weights) - 1
}
