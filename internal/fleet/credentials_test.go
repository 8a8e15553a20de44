package fleet

import "testing"

func TestPartitionAndRoleARN(t *testing.T) {
	cases := map[string]struct {
		region, want string
	}{
		"commercial": {"eu-west-1", "arn:aws:iam::123456789012:role/cfg"},
		"china":      {"cn-north-1", "arn:aws-cn:iam::123456789012:role/cfg"},
		"gov cloud":  {"us-gov-west-1", "arn:aws-us-gov:iam::123456789012:role/cfg"},
		"us not gov": {"us-east-1", "arn:aws:iam::123456789012:role/cfg"},
		"opt-in":     {"af-south-1", "arn:aws:iam::123456789012:role/cfg"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := RoleARN(Partition(tc.region), "123456789012", "cfg"); got != tc.want {
				t.Errorf("RoleARN(Partition(%q)) = %q, want %q", tc.region, got, tc.want)
			}
		})
	}
}
