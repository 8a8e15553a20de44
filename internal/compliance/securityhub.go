package compliance

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/orgpatch/orgpatch/internal/fleet"
)

// Node problems a Security Hub finding is raised for, one finding per node
// and problem.
const (
	ProblemPastSLA   = "past-sla"
	ProblemUnmanaged = "unmanaged"
	ProblemStale     = "stale"
	ProblemOldAgent  = "old-agent"
)

// Security Hub's limits on BatchImportFindings and ASFF's on two fields.
const (
	MaxFindingsPerImport = 100
	maxTitle             = 256
	maxDescription       = 1024 // with Title, keeps a finding far below the 240 KB AWS allows
)

// findingGenerator is every finding's GeneratorId.
const findingGenerator = "orgpatch-compliance-report"

// Problems lists the problems of a node record, in a stable order.
func Problems(r Record) []string {
	if r.RecordType != NodeRecord {
		return nil
	}
	var ps []string
	if r.PastSLA > 0 {
		ps = append(ps, ProblemPastSLA)
	}
	if r.NodeState == Unmanaged {
		ps = append(ps, ProblemUnmanaged)
	}
	if r.Stale {
		ps = append(ps, ProblemStale)
	}
	if r.OldAgent {
		ps = append(ps, ProblemOldAgent)
	}
	return ps
}

// FindingsHome is where findings are imported: the management account's
// Security Hub in its home region, under the account's default product.
type FindingsHome struct {
	Partition, Region, Account string
}

// ProductArn is the home account's default product.
func (h FindingsHome) ProductArn() string {
	return fmt.Sprintf("arn:%s:securityhub:%s:%s:product/%s/default", h.Partition, h.Region, h.Account, h.Account)
}

// FindingId is the stable Id of a node's problem: the same node and problem
// get the same Id from run to run, so a new import updates the finding.
// The member account, region and node are in it, so a finding can be
// archived from its Id alone.
func FindingId(account, region, node, problem string) string {
	return strings.Join([]string{"orgpatch", account, region, node, problem}, "/")
}

// parseFindingId undoes FindingId.
func parseFindingId(id string) (account, region, node, problem string, ok bool) {
	f := strings.Split(id, "/")
	if len(f) != 5 || f[0] != "orgpatch" {
		return "", "", "", "", false
	}
	return f[1], f[2], f[3], f[4], true
}

var problemText = map[string]struct{ label, typ, title, desc string }{
	ProblemPastSLA:   {"HIGH", "Software and Configuration Checks/Vulnerabilities", "Node has patches missing past their SLA", "%d missing patch(es) released more than the SLA's days ago; the oldest is %d days old."},
	ProblemUnmanaged: {"MEDIUM", "Software and Configuration Checks/AWS Security Best Practices", "EC2 instance is not a managed node", "No SSM Agent reports this instance, so Patch Manager cannot patch it."},
	ProblemStale:     {"MEDIUM", "Software and Configuration Checks/AWS Security Best Practices", "Node's patch scan is stale", "The node's last patch scan is older than the report's stale threshold."},
	ProblemOldAgent:  {"LOW", "Software and Configuration Checks/AWS Security Best Practices", "Node runs an old SSM Agent", "The node's SSM Agent is older than the report's minimum version."},
}

// Finding builds the ASFF finding of a node's problem. AwsAccountId is the
// home account: Security Hub refuses, for the default product, a finding
// whose AwsAccountId is not the caller's. The member account the node is in
// is the resource's ARN and the ProductFields' orgpatch/MemberAccount.
func (h FindingsHome) Finding(account, region, node, problem string, r *Record, now time.Time, state shtypes.RecordState) shtypes.AwsSecurityFinding {
	t := problemText[problem]
	desc := t.desc
	if problem == ProblemPastSLA && r != nil {
		desc = fmt.Sprintf(desc, r.PastSLA, r.OldestPatchAgeDays)
	} else if problem == ProblemPastSLA {
		desc = "Missing patches released more than the SLA's days ago."
	}
	if state == shtypes.RecordStateArchived {
		desc = "Resolved: " + desc
	}
	stamp := now.UTC().Format(time.RFC3339)
	res := shtypes.Resource{
		Type:      aws.String("Other"),
		Id:        aws.String(fmt.Sprintf("arn:%s:ssm:%s:%s:managed-instance/%s", h.Partition, region, account, node)),
		Partition: shtypes.Partition(h.Partition),
		Region:    aws.String(region),
	}
	if strings.HasPrefix(node, "i-") {
		res.Type = aws.String("AwsEc2Instance")
		res.Id = aws.String(fmt.Sprintf("arn:%s:ec2:%s:%s:instance/%s", h.Partition, region, account, node))
	}
	return shtypes.AwsSecurityFinding{
		SchemaVersion: aws.String("2018-10-08"),
		Id:            aws.String(FindingId(account, region, node, problem)),
		ProductArn:    aws.String(h.ProductArn()),
		GeneratorId:   aws.String(findingGenerator),
		AwsAccountId:  aws.String(h.Account),
		Types:         []string{t.typ},
		// Assumption: the report keeps no first-seen time, so CreatedAt is
		// this run's; Security Hub keeps the finding by Id either way.
		CreatedAt: aws.String(stamp),
		UpdatedAt: aws.String(stamp),
		Severity:  &shtypes.Severity{Label: shtypes.SeverityLabel(t.label)},
		// A finding provider updates severity and types through
		// FindingProviderFields: after a finding's creation Security Hub
		// leaves the top-level fields to the customer's workflow.
		FindingProviderFields: &shtypes.FindingProviderFields{
			Severity: &shtypes.FindingProviderSeverity{Label: shtypes.SeverityLabel(t.label)},
			Types:    []string{t.typ},
		},
		Title:       aws.String(truncate(t.title, maxTitle)),
		Description: aws.String(truncate(desc, maxDescription)),
		Resources:   []shtypes.Resource{res},
		RecordState: state,
		ProductFields: map[string]string{
			"orgpatch/MemberAccount": account,
			"orgpatch/Region":        region,
			"orgpatch/Problem":       problem,
		},
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// FindingsImporter is the one Security Hub call the sink makes.
type FindingsImporter interface {
	BatchImportFindings(context.Context, *securityhub.BatchImportFindingsInput, ...func(*securityhub.Options)) (*securityhub.BatchImportFindingsOutput, error)
}

// FailedFinding is a finding Security Hub refused.
type FailedFinding struct {
	Id, ErrorCode, ErrorMessage string
}

// FindingsResult is what a sink imported.
type FindingsResult struct {
	Active, Archived int
	// Unread are previous findings neither raised nor archived: their
	// account x region could not be read this run, so whether they are
	// resolved is unknown. They stay in Ids.
	Unread int
	Failed []FailedFinding
	// Ids are the active findings' Ids, sorted: the next run's previous.
	Ids []string
}

// FindingsSink turns node records into findings and imports them in
// batches of MaxFindingsPerImport as they stream; Close archives the
// findings of the previous run this run no longer has. It holds one batch
// and the Ids sent. It is not safe for concurrent use.
//
// The first import that fails (Security Hub not enabled, access denied,
// retries exhausted) stops the sink: nothing more is sent, and Close
// returns that error with the Ids that may still be active in Security Hub,
// so the caller can report the failure and still archive them later.
type FindingsSink struct {
	client FindingsImporter
	home   FindingsHome
	now    time.Time
	batch  []shtypes.AwsSecurityFinding
	sent   map[string]bool
	unread map[string]bool // account/region of failed coverage records
	result FindingsResult
	err    error
}

// NewFindingsSink returns a sink importing into home, stamped with now
// (the run's CaptureTime). Throttling is retried by client's retryer.
func NewFindingsSink(client FindingsImporter, home FindingsHome, now time.Time) *FindingsSink {
	return &FindingsSink{client: client, home: home, now: now, sent: map[string]bool{}, unread: map[string]bool{}}
}

// Add queues the findings of one record, importing a full batch. An import
// that fails stops the sink; Close returns its error. A coverage record of
// a target that could not be read keeps that target's previous findings
// from being archived.
func (s *FindingsSink) Add(ctx context.Context, r Record) {
	if r.RecordType == CoverageRecord && r.Outcome == OutcomeFailed {
		s.unread[r.Account+"/"+r.Region] = true
	}
	for _, p := range Problems(r) {
		id := FindingId(r.Account, r.Region, r.ResourceId, p)
		if s.sent[id] {
			continue
		}
		s.sent[id] = true
		s.result.Active++
		s.queue(ctx, s.home.Finding(r.Account, r.Region, r.ResourceId, p, &r, s.now, shtypes.RecordStateActive))
	}
}

func (s *FindingsSink) queue(ctx context.Context, f shtypes.AwsSecurityFinding) {
	if s.err != nil {
		return
	}
	s.batch = append(s.batch, f)
	if len(s.batch) == MaxFindingsPerImport {
		s.flush(ctx)
	}
}

func (s *FindingsSink) flush(ctx context.Context) {
	if len(s.batch) == 0 || s.err != nil {
		return
	}
	out, err := s.client.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: s.batch})
	if err != nil {
		s.err = fmt.Errorf("security hub: importing %d findings: %w", len(s.batch), err)
		return
	}
	for _, f := range out.FailedFindings {
		s.result.Failed = append(s.result.Failed, FailedFinding{aws.ToString(f.Id), aws.ToString(f.ErrorCode), aws.ToString(f.ErrorMessage)})
	}
	s.batch = s.batch[:0]
}

// Close archives the findings in previous (the Ids of the last run's
// active findings) this run did not raise again, but for those of targets
// it could not read, imports what is queued and returns what was done. A
// refused finding is in Failed, not an error.
//
// When an import failed, Close returns its error, and Ids are every Id
// this run raised and every Id of previous: the findings Security Hub may
// hold as active, which the next run archives if they are resolved.
func (s *FindingsSink) Close(ctx context.Context, previous []string) (FindingsResult, error) {
	var kept []string
	for _, id := range previous {
		if s.sent[id] {
			continue
		}
		account, region, node, problem, ok := parseFindingId(id)
		if !ok || problemText[problem].label == "" {
			continue // not one of ours
		}
		if s.unread[account+"/"+region] {
			s.result.Unread++
			kept = append(kept, id)
			continue
		}
		s.result.Archived++
		s.queue(ctx, s.home.Finding(account, region, node, problem, nil, s.now, shtypes.RecordStateArchived))
	}
	s.flush(ctx)
	s.result.Ids = s.result.Ids[:0]
	if s.err != nil {
		for id := range s.sent {
			s.result.Ids = append(s.result.Ids, id)
		}
		for _, id := range previous {
			if !s.sent[id] {
				s.result.Ids = append(s.result.Ids, id)
			}
		}
		slices.Sort(s.result.Ids)
		return s.result, s.err
	}
	failed := map[string]bool{}
	for _, f := range s.result.Failed {
		failed[f.Id] = true
	}
	for id := range s.sent {
		if !failed[id] {
			s.result.Ids = append(s.result.Ids, id)
		}
	}
	s.result.Ids = append(s.result.Ids, kept...)
	slices.Sort(s.result.Ids)
	return s.result, nil
}

// String is the result in one sentence, for a run's summary.
func (r FindingsResult) String() string {
	s := fmt.Sprintf("Security Hub: %d findings active, %d archived, %d refused", r.Active, r.Archived, len(r.Failed))
	if r.Unread > 0 {
		s += fmt.Sprintf(", %d left as they were (their account x region not read)", r.Unread)
	}
	return s
}

// CallerIdentityAPI is the STS call that names the home account.
type CallerIdentityAPI interface {
	GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

var (
	_ CallerIdentityAPI = (*sts.Client)(nil)
	_ FindingsImporter  = (*securityhub.Client)(nil)
)

// CallerHome is the findings home of the caller: its own account (STS
// GetCallerIdentity, which needs no permission) in region, in region's
// partition.
func CallerHome(ctx context.Context, client CallerIdentityAPI, region string) (FindingsHome, error) {
	out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return FindingsHome{}, fmt.Errorf("security hub: who is the home account (sts GetCallerIdentity): %w", err)
	}
	return FindingsHome{Partition: fleet.Partition(region), Region: region, Account: aws.ToString(out.Account)}, nil
}
