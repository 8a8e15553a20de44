package ssmsvc

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/google/go-cmp/cmp"
)

func TestParameterLifecycle(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(account, region)
	put := &ssm.PutParameterInput{Name: aws.String("/orgpatch/state"), Value: aws.String("v1"), Type: types.ParameterTypeString}
	out, err := c.PutParameter(bg, put)
	if err != nil || out.Version != 1 || out.Tier != types.ParameterTierStandard {
		t.Fatalf("create: %v, %+v", err, out)
	}
	if _, err := c.PutParameter(bg, put); errorCode(err) != "ParameterAlreadyExists" {
		t.Errorf("put again without Overwrite: %v, want ParameterAlreadyExists", err)
	}
	put.Value, put.Overwrite = aws.String("v2"), aws.Bool(true)
	if out, err := c.PutParameter(bg, put); err != nil || out.Version != 2 {
		t.Fatalf("overwrite: %v, %+v", err, out)
	}
	got, err := c.GetParameter(bg, &ssm.GetParameterInput{Name: aws.String("/orgpatch/state")})
	if err != nil {
		t.Fatal(err)
	}
	want := &types.Parameter{Name: aws.String("/orgpatch/state"), Type: types.ParameterTypeString, Value: aws.String("v2"), Version: 2,
		LastModifiedDate: aws.Time(testNow), ARN: aws.String("arn:aws:ssm:" + region + ":" + account + ":parameter/orgpatch/state"), DataType: aws.String("text")}
	if diff := cmp.Diff(want, got.Parameter, sdkOpts); diff != "" {
		t.Errorf("GetParameter (-want +got):\n%s", diff)
	}
	old, err := c.GetParameter(bg, &ssm.GetParameterInput{Name: aws.String("/orgpatch/state:1")})
	if err != nil || aws.ToString(old.Parameter.Value) != "v1" || aws.ToString(old.Parameter.Selector) != ":1" {
		t.Errorf("version selector: %v, %+v", err, old)
	}
	if _, err := c.GetParameter(bg, &ssm.GetParameterInput{Name: aws.String("/orgpatch/state:3")}); errorCode(err) != "ParameterVersionNotFound" {
		t.Errorf("missing version: %v, want ParameterVersionNotFound", err)
	}
	if _, err := c.DeleteParameter(bg, &ssm.DeleteParameterInput{Name: aws.String("/orgpatch/state")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteParameter(bg, &ssm.DeleteParameterInput{Name: aws.String("/orgpatch/state")}); errorCode(err) != "ParameterNotFound" {
		t.Errorf("delete twice: %v, want ParameterNotFound", err)
	}
	if _, err := c.GetParameter(bg, &ssm.GetParameterInput{Name: aws.String("/orgpatch/state")}); errorCode(err) != "ParameterNotFound" {
		t.Errorf("get deleted: %v, want ParameterNotFound", err)
	}
}

func TestSecureStringAndStringList(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(account, region)
	if _, err := c.PutParameter(bg, &ssm.PutParameterInput{Name: aws.String("secret"), Value: aws.String("hunter2"), Type: types.ParameterTypeSecureString}); err != nil {
		t.Fatal(err)
	}
	enc, err := c.GetParameter(bg, &ssm.GetParameterInput{Name: aws.String("secret")})
	if err != nil || aws.ToString(enc.Parameter.Value) == "hunter2" || aws.ToString(enc.Parameter.Value) == "" {
		t.Errorf("without decryption: %v, value %q; want an opaque ciphertext", err, aws.ToString(enc.Parameter.Value))
	}
	dec, err := c.GetParameter(bg, &ssm.GetParameterInput{Name: aws.String("secret"), WithDecryption: aws.Bool(true)})
	if err != nil || aws.ToString(dec.Parameter.Value) != "hunter2" {
		t.Errorf("with decryption: %v, %+v", err, dec)
	}
	if _, err := c.PutParameter(bg, &ssm.PutParameterInput{Name: aws.String("regions"), Value: aws.String("eu-west-1,us-east-1"), Type: types.ParameterTypeStringList}); err != nil {
		t.Fatal(err)
	}
	if v, version, ok := ts.svc.Parameter(account, region, "regions"); !ok || v != "eu-west-1,us-east-1" || version != 1 {
		t.Errorf("Parameter snapshot: %q %d %v", v, version, ok)
	}
}

func TestPutParameterRules(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(account, region)
	if _, err := c.PutParameter(bg, &ssm.PutParameterInput{Name: aws.String("/existing"), Value: aws.String("x"), Type: types.ParameterTypeString}); err != nil {
		t.Fatal(err)
	}
	deep := "/" + strings.Repeat("level/", 15) + "leaf"
	tests := map[string]struct {
		in   *ssm.PutParameterInput
		want string
	}{
		"no type on create":      {in: &ssm.PutParameterInput{Name: aws.String("/new"), Value: aws.String("x")}, want: "ValidationException"},
		"aws prefix":             {in: &ssm.PutParameterInput{Name: aws.String("/AWS/thing"), Value: aws.String("x"), Type: types.ParameterTypeString}, want: "ValidationException"},
		"ssm prefix":             {in: &ssm.PutParameterInput{Name: aws.String("ssm-thing"), Value: aws.String("x"), Type: types.ParameterTypeString}, want: "ValidationException"},
		"path without slash":     {in: &ssm.PutParameterInput{Name: aws.String("a/b"), Value: aws.String("x"), Type: types.ParameterTypeString}, want: "ValidationException"},
		"bad character":          {in: &ssm.PutParameterInput{Name: aws.String("/a b"), Value: aws.String("x"), Type: types.ParameterTypeString}, want: "ValidationException"},
		"16 levels":              {in: &ssm.PutParameterInput{Name: aws.String(deep), Value: aws.String("x"), Type: types.ParameterTypeString}, want: "HierarchyLevelLimitExceededException"},
		"pattern mismatch":       {in: &ssm.PutParameterInput{Name: aws.String("/n"), Value: aws.String("abc"), Type: types.ParameterTypeString, AllowedPattern: aws.String(`\d+`)}, want: "ParameterPatternMismatchException"},
		"invalid pattern":        {in: &ssm.PutParameterInput{Name: aws.String("/n"), Value: aws.String("abc"), Type: types.ParameterTypeString, AllowedPattern: aws.String(`(`)}, want: "InvalidAllowedPatternException"},
		"tags with overwrite":    {in: &ssm.PutParameterInput{Name: aws.String("/existing"), Value: aws.String("y"), Overwrite: aws.Bool(true), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}, want: "ValidationException"},
		"standard value too big": {in: &ssm.PutParameterInput{Name: aws.String("/big"), Value: aws.String(strings.Repeat("x", 4097)), Type: types.ParameterTypeString, Tier: types.ParameterTierStandard}, want: "ValidationException"},
		"key id on a String":     {in: &ssm.PutParameterInput{Name: aws.String("/k"), Value: aws.String("x"), Type: types.ParameterTypeString, KeyId: aws.String("alias/mine")}, want: "ValidationException"},
		"unknown type":           {in: &ssm.PutParameterInput{Name: aws.String("/t"), Value: aws.String("x"), Type: "Number"}, want: "ValidationException"},
		"type change":            {in: &ssm.PutParameterInput{Name: aws.String("/existing"), Value: aws.String("a,b"), Type: types.ParameterTypeStringList, Overwrite: aws.Bool(true)}, want: "HierarchyTypeMismatchException"},
		"malformed key id":       {in: &ssm.PutParameterInput{Name: aws.String("/s"), Value: aws.String("x"), Type: types.ParameterTypeSecureString, KeyId: aws.String("key:not-a-key")}, want: "InvalidKeyId"},
		"key alias":              {in: &ssm.PutParameterInput{Name: aws.String("/s2"), Value: aws.String("x"), Type: types.ParameterTypeSecureString, KeyId: aws.String("alias/orgpatch")}},
		"pattern match":          {in: &ssm.PutParameterInput{Name: aws.String("/digits"), Value: aws.String("123"), Type: types.ParameterTypeString, AllowedPattern: aws.String(`\d+`)}},
		"15 levels":              {in: &ssm.PutParameterInput{Name: aws.String("/" + strings.Repeat("level/", 14) + "leaf"), Value: aws.String("x"), Type: types.ParameterTypeString}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := c.PutParameter(bg, tc.in); errorCode(err) != tc.want {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	if out, err := c.PutParameter(bg, &ssm.PutParameterInput{Name: aws.String("/big"), Value: aws.String(strings.Repeat("x", 5000)), Type: types.ParameterTypeString}); err != nil || out.Tier != types.ParameterTierAdvanced {
		t.Errorf("a big value without a tier: %v, %+v; want the Advanced tier", err, out)
	}
}

func TestParameterQuota(t *testing.T) {
	q := DefaultQuotas
	q.Parameters = 1
	ts := newTestServer(t, WithQuotas(q))
	c := ts.client(account, region)
	if _, err := c.PutParameter(bg, &ssm.PutParameterInput{Name: aws.String("/one"), Value: aws.String("x"), Type: types.ParameterTypeString}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutParameter(bg, &ssm.PutParameterInput{Name: aws.String("/two"), Value: aws.String("x"), Type: types.ParameterTypeString}); errorCode(err) != "ParameterLimitExceeded" {
		t.Errorf("parameter beyond the quota: %v, want ParameterLimitExceeded", err)
	}
	if _, err := c.PutParameter(bg, &ssm.PutParameterInput{Name: aws.String("/one"), Value: aws.String("y"), Overwrite: aws.Bool(true)}); err != nil {
		t.Errorf("a new version is not a new parameter, yet: %v", err)
	}
}

func TestTags(t *testing.T) {
	q := DefaultQuotas
	q.TagsPerResource = 3
	ts := newTestServer(t, WithQuotas(q))
	c := ts.client(account, region)
	in := windowInput("tagged")
	in.Tags = []types.Tag{{Key: aws.String("a"), Value: aws.String("1")}}
	w := mustCreateWindow(t, c, in)
	mw := types.ResourceTypeForTaggingMaintenanceWindow
	tag := func(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }
	if _, err := c.AddTagsToResource(bg, &ssm.AddTagsToResourceInput{ResourceType: mw, ResourceId: aws.String(w), Tags: []types.Tag{tag("a", "2"), tag("b", "1")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RemoveTagsFromResource(bg, &ssm.RemoveTagsFromResourceInput{ResourceType: mw, ResourceId: aws.String(w), TagKeys: []string{"b", "absent"}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.ListTagsForResource(bg, &ssm.ListTagsForResourceInput{ResourceType: mw, ResourceId: aws.String(w)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]types.Tag{tag("a", "2")}, out.TagList, sdkOpts); diff != "" {
		t.Errorf("tags after overwrite and removal (-want +got):\n%s", diff)
	}
	if _, err := c.AddTagsToResource(bg, &ssm.AddTagsToResourceInput{ResourceType: mw, ResourceId: aws.String(w), Tags: []types.Tag{tag("b", "1"), tag("c", "1"), tag("d", "1")}}); errorCode(err) != "TooManyTagsError" {
		t.Errorf("four tags over a quota of three: %v, want TooManyTagsError", err)
	}
	if _, err := c.PutParameter(bg, &ssm.PutParameterInput{Name: aws.String("/p"), Value: aws.String("x"), Type: types.ParameterTypeString, Tags: []types.Tag{tag("p", "1")}}); err != nil {
		t.Fatal(err)
	}
	if out, err := c.ListTagsForResource(bg, &ssm.ListTagsForResourceInput{ResourceType: types.ResourceTypeForTaggingParameter, ResourceId: aws.String("/p")}); err != nil || len(out.TagList) != 1 {
		t.Errorf("parameter tags: %v, %+v", err, out)
	}
	for name, tc := range map[string]struct {
		typ  types.ResourceTypeForTagging
		id   string
		want string
	}{
		"document":       {typ: types.ResourceTypeForTaggingDocument, id: "AWS-RunPatchBaseline", want: "InvalidResourceType"},
		"unknown window": {typ: mw, id: "mw-0123456789abcdef0", want: "InvalidResourceId"},
		"unknown param":  {typ: types.ResourceTypeForTaggingParameter, id: "/nope", want: "InvalidResourceId"},
	} {
		if _, err := c.ListTagsForResource(bg, &ssm.ListTagsForResourceInput{ResourceType: tc.typ, ResourceId: aws.String(tc.id)}); errorCode(err) != tc.want {
			t.Errorf("list %s: %v, want %s", name, err, tc.want)
		}
		if _, err := c.AddTagsToResource(bg, &ssm.AddTagsToResourceInput{ResourceType: tc.typ, ResourceId: aws.String(tc.id), Tags: []types.Tag{tag("x", "y")}}); errorCode(err) != tc.want {
			t.Errorf("add %s: %v, want %s", name, err, tc.want)
		}
		if _, err := c.RemoveTagsFromResource(bg, &ssm.RemoveTagsFromResourceInput{ResourceType: tc.typ, ResourceId: aws.String(tc.id), TagKeys: []string{"x"}}); errorCode(err) != tc.want {
			t.Errorf("remove %s: %v, want %s", name, err, tc.want)
		}
	}
}
