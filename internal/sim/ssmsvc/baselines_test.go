package ssmsvc

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/google/go-cmp/cmp"
)

var baselineIDPattern = regexpMust(`^pb-[0-9a-f]{17}$`)

// linuxBaseline is a baseline input approving Amazon Linux 2 security
// patches after days.
func linuxBaseline(name string, days int32) *ssm.CreatePatchBaselineInput {
	return &ssm.CreatePatchBaselineInput{
		Name: aws.String(name), OperatingSystem: types.OperatingSystemAmazonLinux2,
		ApprovalRules: &types.PatchRuleGroup{PatchRules: []types.PatchRule{{
			PatchFilterGroup: &types.PatchFilterGroup{PatchFilters: []types.PatchFilter{
				{Key: types.PatchFilterKeyClassification, Values: []string{"Security"}},
				{Key: types.PatchFilterKeySeverity, Values: []string{"Critical", "Important"}},
			}},
			ApproveAfterDays: aws.Int32(days), ComplianceLevel: types.PatchComplianceLevelHigh,
		}}},
	}
}

func mustCreateBaseline(t *testing.T, c *ssm.Client, in *ssm.CreatePatchBaselineInput) string {
	t.Helper()
	out, err := c.CreatePatchBaseline(bg, in)
	if err != nil {
		t.Fatalf("CreatePatchBaseline %s: %v", aws.ToString(in.Name), err)
	}
	return aws.ToString(out.BaselineId)
}

func TestCreateGetUpdateBaseline(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(account, region)
	in := linuxBaseline("dev-al2", 0)
	in.Description = aws.String("dev ring")
	in.Tags = []types.Tag{{Key: aws.String("orgpatch:managed-by"), Value: aws.String("orgpatch")}}
	id := mustCreateBaseline(t, c, in)
	if !baselineIDPattern.MatchString(id) {
		t.Errorf("baseline id %q, want pb- and 17 hex digits", id)
	}
	got, err := c.GetPatchBaseline(bg, &ssm.GetPatchBaselineInput{BaselineId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	want := &ssm.GetPatchBaselineOutput{
		BaselineId: aws.String(id), Name: aws.String("dev-al2"), Description: aws.String("dev ring"),
		OperatingSystem: types.OperatingSystemAmazonLinux2, ApprovalRules: in.ApprovalRules,
		ApprovedPatches: []string{}, RejectedPatches: []string{}, Sources: []types.PatchSource{},
		ApprovedPatchesComplianceLevel: types.PatchComplianceLevelUnspecified, ApprovedPatchesEnableNonSecurity: aws.Bool(false), RejectedPatchesAction: types.PatchActionAllowAsDependency,
		CreatedDate: aws.Time(testNow), ModifiedDate: aws.Time(testNow),
	}
	if diff := cmp.Diff(want, got, sdkOpts); diff != "" {
		t.Errorf("GetPatchBaseline (-want +got):\n%s", diff)
	}
	tags, err := c.ListTagsForResource(bg, &ssm.ListTagsForResourceInput{ResourceType: types.ResourceTypeForTaggingPatchBaseline, ResourceId: aws.String(id)})
	if err != nil || len(tags.TagList) != 1 || aws.ToString(tags.TagList[0].Key) != "orgpatch:managed-by" {
		t.Errorf("ListTagsForResource PatchBaseline: %+v, %v; want the creation tag", tags, err)
	}

	// A partial update changes the given members only; Replace resets the rest.
	up, err := c.UpdatePatchBaseline(bg, &ssm.UpdatePatchBaselineInput{BaselineId: aws.String(id), RejectedPatches: []string{"telnet"}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(up.Description) != "dev ring" || !slices.Equal(up.RejectedPatches, []string{"telnet"}) || up.ApprovalRules == nil {
		t.Errorf("partial update: description %q, rejected %v, rules %v; want the description and rules kept, telnet rejected",
			aws.ToString(up.Description), up.RejectedPatches, up.ApprovalRules)
	}
	up, err = c.UpdatePatchBaseline(bg, &ssm.UpdatePatchBaselineInput{BaselineId: aws.String(id), Replace: aws.Bool(true), Name: aws.String("dev-al2")})
	if err != nil {
		t.Fatal(err)
	}
	if up.Description != nil || len(up.RejectedPatches) != 0 || up.ApprovalRules != nil || up.OperatingSystem != types.OperatingSystemAmazonLinux2 {
		t.Errorf("Replace update: %+v; want every optional member reset and the operating system kept", up)
	}
}

func TestBaselineSemanticRules(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(account, region)
	both := linuxBaseline("both", 7)
	both.ApprovalRules.PatchRules[0].ApproveUntilDate = aws.String("2026-05-01")
	neither := linuxBaseline("neither", 7)
	neither.ApprovalRules.PatchRules[0].ApproveAfterDays = nil
	badDate := linuxBaseline("bad-date", 7)
	badDate.ApprovalRules.PatchRules[0].ApproveAfterDays = nil
	badDate.ApprovalRules.PatchRules[0].ApproveUntilDate = aws.String("2026-13-01")
	windowsKey := linuxBaseline("msrc-on-linux", 7)
	windowsKey.GlobalFilters = &types.PatchFilterGroup{PatchFilters: []types.PatchFilter{{Key: types.PatchFilterKeyMsrcSeverity, Values: []string{"Critical"}}}}
	twice := linuxBaseline("twice", 7)
	twice.ApprovalRules.PatchRules[0].PatchFilterGroup.PatchFilters[1].Key = types.PatchFilterKeyClassification
	for name, in := range map[string]*ssm.CreatePatchBaselineInput{
		"days and date": both, "neither days nor date": neither, "not a date": badDate,
		"key the OS does not take": windowsKey, "key twice": twice,
	} {
		_, err := c.CreatePatchBaseline(bg, in)
		if code := errorCode(err); code != "ValidationException" {
			t.Errorf("%s: %q, want ValidationException", name, code)
		}
	}
	if n := len(ts.svc.Baselines(account, region)); n != 0 {
		t.Errorf("%d baselines after refused creates, want 0", n)
	}
	// ClientToken: the same request again answers the same id; another
	// request with that token is IdempotentParameterMismatch.
	in := linuxBaseline("token", 3)
	in.ClientToken = aws.String("once")
	first, second := mustCreateBaseline(t, c, in), mustCreateBaseline(t, c, in)
	if first != second {
		t.Errorf("repeat with the same ClientToken made %s then %s, want the same baseline", first, second)
	}
	in.Description = aws.String("changed")
	if _, err := c.CreatePatchBaseline(bg, in); errorCode(err) != "IdempotentParameterMismatch" {
		t.Errorf("same token, other request: %v, want IdempotentParameterMismatch", err)
	}
}

func TestBaselineQuotas(t *testing.T) {
	q := DefaultQuotas
	q.BaselinesPerRegion, q.PatchGroupsPerBaseline = 2, 1
	ts := newTestServer(t, WithQuotas(q))
	c := ts.client(account, region)
	id := mustCreateBaseline(t, c, linuxBaseline("one", 0))
	mustCreateBaseline(t, c, linuxBaseline("two", 0))
	if _, err := c.CreatePatchBaseline(bg, linuxBaseline("three", 0)); errorCode(err) != "ResourceLimitExceededException" {
		t.Errorf("third baseline with a quota of 2: %v, want ResourceLimitExceededException", err)
	}
	if _, err := c.RegisterPatchBaselineForPatchGroup(bg, &ssm.RegisterPatchBaselineForPatchGroupInput{BaselineId: aws.String(id), PatchGroup: aws.String("a")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RegisterPatchBaselineForPatchGroup(bg, &ssm.RegisterPatchBaselineForPatchGroupInput{BaselineId: aws.String(id), PatchGroup: aws.String("b")}); errorCode(err) != "ResourceLimitExceededException" {
		t.Errorf("second patch group with a quota of 1: %v, want ResourceLimitExceededException", err)
	}
}

// TestDefaultsAndPatchGroups walks the registrations orgpatch converges:
// a default per operating system, patch groups per operating system, the
// documented ResourceInUseException while a baseline is used, and the
// predefined default restored by its ARN.
func TestDefaultsAndPatchGroups(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(account, region)
	awsDefault := PredefinedBaselineID(region, "AMAZON_LINUX_2")
	def, err := c.GetDefaultPatchBaseline(bg, &ssm.GetDefaultPatchBaselineInput{OperatingSystem: types.OperatingSystemAmazonLinux2})
	if err != nil || aws.ToString(def.BaselineId) != awsDefault {
		t.Fatalf("fresh account's AL2 default: %v %v, want AWS's %s", aws.ToString(def.BaselineId), err, awsDefault)
	}
	win, _ := c.GetDefaultPatchBaseline(bg, &ssm.GetDefaultPatchBaselineInput{})
	if aws.ToString(win.BaselineId) != PredefinedBaselineID(region, "WINDOWS") || win.OperatingSystem != types.OperatingSystemWindows {
		t.Errorf("default without an operating system: %+v, want WINDOWS's predefined default", win)
	}
	got, err := c.GetPatchBaseline(bg, &ssm.GetPatchBaselineInput{BaselineId: aws.String(awsDefault)})
	if err != nil || aws.ToString(got.Name) != "AWS-AmazonLinux2DefaultPatchBaseline" {
		t.Errorf("GetPatchBaseline by the predefined ARN: %v %v", got, err)
	}
	short := awsDefault[strings.LastIndex(awsDefault, "/")+1:]
	if _, err := c.GetPatchBaseline(bg, &ssm.GetPatchBaselineInput{BaselineId: aws.String(short)}); errorCode(err) != "DoesNotExistException" {
		t.Errorf("predefined baseline by its short id: %v, want DoesNotExistException (AWS wants the ARN)", err)
	}

	dev := mustCreateBaseline(t, c, linuxBaseline("dev", 0))
	other := mustCreateBaseline(t, c, linuxBaseline("other", 7))
	if _, err := c.RegisterDefaultPatchBaseline(bg, &ssm.RegisterDefaultPatchBaselineInput{BaselineId: aws.String(dev)}); err != nil {
		t.Fatal(err)
	}
	reg := func(id, group string) error {
		_, err := c.RegisterPatchBaselineForPatchGroup(bg, &ssm.RegisterPatchBaselineForPatchGroupInput{BaselineId: aws.String(id), PatchGroup: aws.String(group)})
		return err
	}
	if err := reg(other, "web"); err != nil {
		t.Fatal(err)
	}
	if err := reg(other, "web"); err != nil {
		t.Errorf("the same registration again: %v, want success", err)
	}
	if err := reg(dev, "web"); errorCode(err) != "AlreadyExistsException" {
		t.Errorf("web to a second AL2 baseline: %v, want AlreadyExistsException", err)
	}
	if err := reg(awsDefault, "web"); errorCode(err) != "AlreadyExistsException" {
		t.Errorf("web to the predefined AL2 baseline: %v, want AlreadyExistsException", err)
	}
	if err := reg(PredefinedBaselineID(region, "WINDOWS"), "web"); err != nil {
		t.Errorf("web for WINDOWS beside its AL2 baseline: %v, want success (one baseline per operating system)", err)
	}
	pg, err := c.GetPatchBaselineForPatchGroup(bg, &ssm.GetPatchBaselineForPatchGroupInput{PatchGroup: aws.String("web"), OperatingSystem: types.OperatingSystemAmazonLinux2})
	if err != nil || aws.ToString(pg.BaselineId) != other {
		t.Errorf("web's AL2 baseline: %v %v, want %s", pg, err, other)
	}
	pg, _ = c.GetPatchBaselineForPatchGroup(bg, &ssm.GetPatchBaselineForPatchGroupInput{PatchGroup: aws.String("db"), OperatingSystem: types.OperatingSystemAmazonLinux2})
	if aws.ToString(pg.BaselineId) != dev {
		t.Errorf("an unregistered patch group resolves to %s, want the default %s", aws.ToString(pg.BaselineId), dev)
	}
	groups, err := c.DescribePatchGroups(bg, &ssm.DescribePatchGroupsInput{Filters: []types.PatchOrchestratorFilter{{Key: aws.String("OPERATING_SYSTEM"), Values: []string{"AMAZON_LINUX_2"}}}})
	if err != nil || len(groups.Mappings) != 1 || aws.ToString(groups.Mappings[0].BaselineIdentity.BaselineId) != other {
		t.Errorf("DescribePatchGroups AL2: %+v %v, want web -> %s", groups, err, other)
	}

	for id, why := range map[string]string{dev: "the AL2 default", other: "registered for web"} {
		if _, err := c.DeletePatchBaseline(bg, &ssm.DeletePatchBaselineInput{BaselineId: aws.String(id)}); errorCode(err) != "ResourceInUseException" {
			t.Errorf("delete the baseline %s: %v, want ResourceInUseException", why, err)
		}
	}
	if _, err := c.DeregisterPatchBaselineForPatchGroup(bg, &ssm.DeregisterPatchBaselineForPatchGroupInput{BaselineId: aws.String(other), PatchGroup: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RegisterDefaultPatchBaseline(bg, &ssm.RegisterDefaultPatchBaselineInput{BaselineId: aws.String(awsDefault)}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{dev, other} {
		if _, err := c.DeletePatchBaseline(bg, &ssm.DeletePatchBaselineInput{BaselineId: aws.String(id)}); err != nil {
			t.Errorf("delete %s once unused: %v", id, err)
		}
	}
	if d := ts.svc.DefaultBaselines(account, region)["AMAZON_LINUX_2"]; d != awsDefault {
		t.Errorf("AL2 default after the predefined one was registered again: %s, want %s", d, awsDefault)
	}
	if _, err := c.DeletePatchBaseline(bg, &ssm.DeletePatchBaselineInput{BaselineId: aws.String(awsDefault)}); errorCode(err) != "ValidationException" {
		t.Errorf("delete a predefined baseline: %v, want ValidationException", err)
	}
}

// TestDescribeBaselines pages through own and predefined baselines with
// every documented filter key.
func TestDescribeBaselines(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(account, region)
	var own []string
	for _, n := range []string{"orgpatch-a", "orgpatch-b", "orgpatch-c", "hand-made"} {
		own = append(own, mustCreateBaseline(t, c, linuxBaseline(n, 1)))
	}
	list := func(fs ...types.PatchOrchestratorFilter) []types.PatchBaselineIdentity {
		var all []types.PatchBaselineIdentity
		p := ssm.NewDescribePatchBaselinesPaginator(c, &ssm.DescribePatchBaselinesInput{Filters: fs, MaxResults: aws.Int32(2)})
		for p.HasMorePages() {
			page, err := p.NextPage(bg)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, page.BaselineIdentities...)
		}
		return all
	}
	filter := func(k, v string) types.PatchOrchestratorFilter {
		return types.PatchOrchestratorFilter{Key: aws.String(k), Values: []string{v}}
	}
	if got := list(); len(got) != len(own)+len(predefinedBaselines) {
		t.Errorf("every baseline over pages of 2: %d, want %d own and %d predefined", len(got), len(own), len(predefinedBaselines))
	}
	if got := list(filter("OWNER", "Self")); len(got) != len(own) {
		t.Errorf("OWNER Self: %d, want %d", len(got), len(own))
	}
	if got := list(filter("NAME_PREFIX", "orgpatch-"), filter("OWNER", "Self")); len(got) != 3 {
		t.Errorf("NAME_PREFIX orgpatch-: %d, want 3", len(got))
	}
	al2 := list(filter("OPERATING_SYSTEM", "AMAZON_LINUX_2"), filter("OWNER", "AWS"))
	if len(al2) != 1 || !al2[0].DefaultBaseline || aws.ToString(al2[0].BaselineName) != "AWS-AmazonLinux2DefaultPatchBaseline" {
		t.Errorf("AWS's AL2 baselines: %+v, want the one predefined default", al2)
	}
	if _, err := c.DescribePatchBaselines(bg, &ssm.DescribePatchBaselinesInput{Filters: []types.PatchOrchestratorFilter{filter("COLOR", "x")}}); errorCode(err) != "ValidationException" {
		t.Errorf("unknown filter key: %v, want ValidationException", err)
	}
}

// TestPredefinedBaselinesCoverTheModel checks that AWS's predefined
// baselines give every operating system of the SSM model exactly one
// default, with ids stable and distinct per region.
func TestPredefinedBaselinesCoverTheModel(t *testing.T) {
	defaults := map[string]int{}
	for _, p := range predefinedBaselines {
		if p.isDefault {
			defaults[p.os]++
		}
		if _, ok := filterKeys[p.os]; !ok {
			t.Errorf("%s: no patch filter keys for operating system %s", p.name, p.os)
		}
	}
	for _, os := range loadBotocoreSSM(t).Shapes["OperatingSystem"].Enum {
		if defaults[os] != 1 {
			t.Errorf("operating system %s has %d predefined defaults, want 1", os, defaults[os])
		}
	}
	a, b := PredefinedBaselineID("eu-west-1", "UBUNTU"), PredefinedBaselineID("us-east-1", "UBUNTU")
	if a == b || a != PredefinedBaselineID("eu-west-1", "UBUNTU") {
		t.Errorf("predefined ids: eu-west-1 %s, us-east-1 %s; want stable per region and different across regions", a, b)
	}
}
