package sim

import (
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/orgpatch/orgpatch/internal/sim/apierr"
	"github.com/orgpatch/orgpatch/internal/sim/nodes"
)

// DescribeInstances over the machines of the inventory (package nodes) that
// are EC2 instances. Documented behaviour followed (EC2 API reference,
// DescribeInstances): MaxResults 5..1000 and not together with instance
// ids; unknown ids are InvalidInstanceID.NotFound, malformed ones
// InvalidInstanceID.Malformed. Assumptions, where AWS documents nothing:
// each instance is its own reservation; a page without MaxResults holds
// every instance.

type describeInstancesResponse struct {
	XMLName      xml.Name         `xml:"http://ec2.amazonaws.com/doc/2016-11-15/ DescribeInstancesResponse"`
	RequestID    string           `xml:"requestId"`
	Reservations []ec2Reservation `xml:"reservationSet>item"`
	NextToken    string           `xml:"nextToken,omitempty"`
}

type ec2Reservation struct {
	ReservationID string        `xml:"reservationId"`
	OwnerID       string        `xml:"ownerId"`
	Instances     []ec2Instance `xml:"instancesSet>item"`
}

type ec2Instance struct {
	InstanceID       string   `xml:"instanceId"`
	ImageID          string   `xml:"imageId"`
	State            ec2State `xml:"instanceState"`
	PrivateIPAddress string   `xml:"privateIpAddress,omitempty"`
	InstanceType     string   `xml:"instanceType"`
	LaunchTime       string   `xml:"launchTime"`
	Platform         string   `xml:"platform,omitempty"`
	PlatformDetails  string   `xml:"platformDetails"`
	Tags             []ec2Tag `xml:"tagSet>item"`
}

type ec2State struct {
	Code int    `xml:"code"`
	Name string `xml:"name"`
}

type ec2Tag struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

var instanceIDRe = regexp.MustCompile(`^i-[0-9a-f]{8}([0-9a-f]{9})?$`)

// instanceFilters are the DescribeInstances filters the simulator models.
var instanceFilters = map[string]func(n nodes.Node, v string) bool{
	"instance-id":         func(n nodes.Node, v string) bool { return n.ID == v },
	"instance-state-name": func(n nodes.Node, v string) bool { return n.State == v },
	"platform":            func(n nodes.Node, v string) bool { return v == "windows" && n.Platform == nodes.Windows },
	"tag-key":             func(n nodes.Node, v string) bool { _, ok := n.Tags[v]; return ok },
}

func (s *Server) describeInstances(req *request) (any, error) {
	f := req.form
	if f["DryRun"] == "true" {
		return nil, apierr.New(http.StatusPreconditionFailed, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
	}
	ids := indexed(f, "InstanceId.")
	maxResults := 0
	if v, ok := f["MaxResults"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 5 || n > 1000 {
			return nil, apierr.BadRequest("InvalidParameterValue", "Value ( %s ) for parameter maxResults is invalid. Expecting a value from 5 to 1000.", v)
		}
		if len(ids) > 0 {
			return nil, apierr.BadRequest("InvalidParameterCombination", "The parameter instancesSet cannot be used with the parameter maxResults")
		}
		maxResults = n
	}
	var checks []func(nodes.Node) bool
	for i := 1; ; i++ {
		name, ok := f["Filter."+strconv.Itoa(i)+".Name"]
		if !ok {
			break
		}
		values := indexed(f, "Filter."+strconv.Itoa(i)+".Value.")
		fn, known := instanceFilters[name]
		if k, isTag := strings.CutPrefix(name, "tag:"); isTag {
			fn, known = func(n nodes.Node, v string) bool { t, has := n.Tags[k]; return has && wildcard(v, t) }, true
		}
		if !known {
			return nil, apierr.BadRequest("InvalidParameterValue", "The filter '%s' is invalid", name)
		}
		checks = append(checks, func(n nodes.Node) bool {
			return slices.ContainsFunc(values, func(v string) bool { return fn(n, v) })
		})
	}
	var all []nodes.Node
	for _, n := range s.inventory.List(req.caller.Account, req.region) {
		if n.IsEC2() {
			all = append(all, n)
		}
	}
	for _, id := range ids {
		if !instanceIDRe.MatchString(id) {
			return nil, apierr.BadRequest("InvalidInstanceID.Malformed", "Invalid id: \"%s\"", id)
		}
		if !slices.ContainsFunc(all, func(n nodes.Node) bool { return n.ID == id }) {
			return nil, apierr.BadRequest("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", id)
		}
	}
	all = slices.DeleteFunc(all, func(n nodes.Node) bool {
		return (len(ids) > 0 && !slices.Contains(ids, n.ID)) || slices.ContainsFunc(checks, func(c func(nodes.Node) bool) bool { return !c(n) })
	})
	start := 0
	if tok := f["NextToken"]; tok != "" {
		last, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(last) == 0 {
			return nil, apierr.BadRequest("InvalidParameterValue", "Invalid value '%s' for nextToken", tok)
		}
		start = slices.IndexFunc(all, func(n nodes.Node) bool { return n.ID > string(last) })
		if start < 0 {
			start = len(all)
		}
	}
	end := len(all)
	out := describeInstancesResponse{RequestID: req.id, Reservations: []ec2Reservation{}}
	if maxResults > 0 && start+maxResults < end {
		end = start + maxResults
		out.NextToken = base64.RawURLEncoding.EncodeToString([]byte(all[end-1].ID))
	}
	for _, n := range all[start:end] {
		inst := ec2Instance{InstanceID: n.ID, ImageID: "ami-0" + n.ID[2:18], State: ec2State{Code: 16, Name: n.State},
			PrivateIPAddress: n.IPAddress, InstanceType: "t3.medium", LaunchTime: n.Launched.UTC().Format(time.RFC3339),
			PlatformDetails: "Linux/UNIX"}
		if n.State == "stopped" {
			inst.State.Code = 80
		}
		if n.Platform == nodes.Windows {
			inst.Platform, inst.PlatformDetails = "windows", "Windows"
		}
		for _, k := range sortedKeys(n.Tags) {
			inst.Tags = append(inst.Tags, ec2Tag{Key: k, Value: n.Tags[k]})
		}
		out.Reservations = append(out.Reservations, ec2Reservation{ReservationID: "r-0" + n.ID[3:19], OwnerID: req.caller.Account, Instances: []ec2Instance{inst}})
	}
	return out, nil
}
