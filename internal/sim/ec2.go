package sim

import (
	"encoding/xml"
	"net/http"
	"slices"
	"strconv"

	"github.com/orgpatch/orgpatch/internal/sim/apierr"
)

type describeRegionsResponse struct {
	XMLName   xml.Name    `xml:"http://ec2.amazonaws.com/doc/2016-11-15/ DescribeRegionsResponse"`
	RequestID string      `xml:"requestId"`
	Regions   []ec2Region `xml:"regionInfo>item"`
}

type ec2Region struct {
	RegionName  string `xml:"regionName"`
	Endpoint    string `xml:"regionEndpoint"`
	OptInStatus string `xml:"optInStatus"`
}

// ec2 serves the EC2 operations orgpatch needs: DescribeRegions, and
// DescribeInstances for the compliance report.
func (s *Server) ec2(req *request) (any, error) {
	if req.op == "DescribeInstances" {
		return s.describeInstances(req)
	}
	if req.op != "DescribeRegions" {
		return nil, apierr.BadRequest("InvalidAction", "The action %s is not valid for this web service.", req.op)
	}
	f := req.form
	if f["DryRun"] == "true" {
		return nil, apierr.New(http.StatusPreconditionFailed, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
	}
	all := f["AllRegions"] == "true"
	names := indexed(f, "RegionName.")
	filters := map[string][]string{}
	for i := 1; ; i++ {
		name, ok := f["Filter."+strconv.Itoa(i)+".Name"]
		if !ok {
			break
		}
		switch name {
		case "region-name", "opt-in-status", "endpoint":
		default:
			return nil, apierr.BadRequest("InvalidParameterValue", "The filter '%s' is invalid; allowed: endpoint, opt-in-status, region-name", name)
		}
		filters[name] = append(filters[name], indexed(f, "Filter."+strconv.Itoa(i)+".Value.")...)
	}
	for _, n := range names {
		if known, _ := regionKind(n); !known {
			return nil, apierr.BadRequest("InvalidParameterValue", "Invalid region name: %s", n)
		}
	}
	optedIn := map[string]bool{}
	s.mu.RLock()
	if a := s.org.accounts[req.caller.Account]; a != nil {
		for r := range a.optedIn {
			optedIn[r] = true
		}
	}
	s.mu.RUnlock()
	out := describeRegionsResponse{RequestID: req.id, Regions: []ec2Region{}}
	for _, r := range allRegions() {
		_, optIn := regionKind(r)
		status := OptInNotRequired
		switch {
		case optIn && optedIn[r]:
			status = OptedIn
		case optIn:
			status = NotOptedIn
		}
		reg := ec2Region{RegionName: r, Endpoint: "ec2." + r + ".amazonaws.com", OptInStatus: status}
		if status == NotOptedIn && !all && len(names) == 0 {
			continue
		}
		if len(names) > 0 && !slices.Contains(names, r) {
			continue
		}
		if !matches(filters["region-name"], reg.RegionName) || !matches(filters["opt-in-status"], reg.OptInStatus) || !matches(filters["endpoint"], reg.Endpoint) {
			continue
		}
		out.Regions = append(out.Regions, reg)
	}
	return out, nil
}

// indexed collects the values prefix1, prefix2, ... of a Query form.
func indexed(f map[string]string, prefix string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := f[prefix+strconv.Itoa(i)]
		if !ok {
			return out
		}
		out = append(out, v)
	}
}

// matches applies an EC2 filter: no values match everything; values may use
// * and ? wildcards.
func matches(values []string, v string) bool {
	if len(values) == 0 {
		return true
	}
	for _, p := range values {
		if wildcard(p, v) {
			return true
		}
	}
	return false
}

func wildcard(p, v string) bool {
	if p == "" {
		return v == ""
	}
	switch p[0] {
	case '*':
		for i := 0; i <= len(v); i++ {
			if wildcard(p[1:], v[i:]) {
				return true
			}
		}
		return false
	case '?':
		return v != "" && wildcard(p[1:], v[1:])
	}
	return v != "" && v[0] == p[0] && wildcard(p[1:], v[1:])
}
