package sim

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strings"

	"github.com/orgpatch/orgpatch/internal/sim/apierr"
	"github.com/orgpatch/orgpatch/internal/sim/smodel"
	"github.com/orgpatch/orgpatch/internal/sim/ssmsvc"
)

// taggingModel is the service model's name of the Resource Groups Tagging
// API (its signing name is ServiceTagging).
const taggingModel = "resourcegroupstaggingapi"

// taggingPageSize is the page size when ResourcesPerPage is not given: AWS
// documents none; the simulator assumes the maximum, 100.
const taggingPageSize = 100

type getResourcesInput struct {
	PaginationToken string `json:"PaginationToken"`
	TagFilters      []struct {
		Key    string   `json:"Key"`
		Values []string `json:"Values"`
	} `json:"TagFilters"`
	ResourcesPerPage          *int     `json:"ResourcesPerPage"`
	TagsPerPage               *int     `json:"TagsPerPage"`
	ResourceTypeFilters       []string `json:"ResourceTypeFilters"`
	IncludeComplianceDetails  bool     `json:"IncludeComplianceDetails"`
	ExcludeCompliantResources bool     `json:"ExcludeCompliantResources"`
	ResourceARNList           []string `json:"ResourceARNList"`
}

type resourceTagMapping struct {
	ResourceARN string       `json:"ResourceARN"`
	Tags        []ssmsvc.Tag `json:"Tags"`
}

type getResourcesOutput struct {
	// AWS answers an empty string on the last page.
	PaginationToken        string               `json:"PaginationToken"`
	ResourceTagMappingList []resourceTagMapping `json:"ResourceTagMappingList"`
}

// tagging serves the Resource Groups Tagging API's GetResources over the
// resources the simulator holds tags for (SSM maintenance windows and
// parameters) in the caller's account and region.
func (s *Server) tagging(req *request) (any, error) {
	if req.op != "GetResources" {
		return nil, apierr.BadRequest("UnknownOperationException", "the simulator does not implement %s of the Resource Groups Tagging API", req.op)
	}
	if vs := smodel.Validate(taggingModel, req.op, req.body); len(vs) > 0 {
		return nil, taggingInvalid("%s", smodel.Message(vs))
	}
	var in getResourcesInput
	if err := decodeJSON(req.body, &in); err != nil {
		return nil, err
	}
	paging := in.PaginationToken != "" || in.ResourcesPerPage != nil || in.TagsPerPage != nil
	switch {
	case in.ResourceARNList != nil && (in.TagFilters != nil || in.ResourceTypeFilters != nil || paging):
		return nil, taggingInvalid("ResourceARNList can't be combined with TagFilters, ResourceTypeFilters or the pagination parameters")
	case in.ResourcesPerPage != nil && (*in.ResourcesPerPage < 1 || *in.ResourcesPerPage > 100):
		return nil, taggingInvalid("ResourcesPerPage must be between 1 and 100")
	case in.TagsPerPage != nil:
		return nil, taggingInvalid("TagsPerPage is not implemented by the simulator; use ResourcesPerPage, as AWS recommends")
	case in.ExcludeCompliantResources && !in.IncludeComplianceDetails:
		return nil, taggingInvalid("ExcludeCompliantResources can be used only with IncludeComplianceDetails")
	case in.IncludeComplianceDetails:
		return nil, taggingInvalid("IncludeComplianceDetails is not implemented by the simulator (it holds no tag policies)")
	}
	for _, f := range in.TagFilters {
		if f.Key == "" {
			return nil, taggingInvalid("each TagFilter must have a Key")
		}
	}
	ctx := ssmsvc.Context{Account: req.caller.Account, Region: req.region, Partition: "aws"}
	var matched []resourceTagMapping
	for _, r := range s.ssm.TaggedResources(ctx) {
		if matchesTagging(r, in) {
			matched = append(matched, resourceTagMapping{ResourceARN: r.ARN, Tags: r.Tags})
		}
	}
	start := 0
	if in.PaginationToken != "" {
		last, err := base64.RawURLEncoding.DecodeString(in.PaginationToken)
		if err != nil || len(last) == 0 {
			return nil, taggingInvalid("PaginationToken %s is not valid", in.PaginationToken)
		}
		start, _ = slices.BinarySearchFunc(matched, string(last), func(m resourceTagMapping, arn string) int {
			return strings.Compare(m.ResourceARN, arn)
		})
		if start < len(matched) && matched[start].ResourceARN == string(last) {
			start++
		}
	}
	n := taggingPageSize
	if in.ResourcesPerPage != nil {
		n = *in.ResourcesPerPage
	}
	end := min(start+n, len(matched))
	out := getResourcesOutput{ResourceTagMappingList: slices.Clip(matched[start:end])}
	if out.ResourceTagMappingList == nil {
		out.ResourceTagMappingList = []resourceTagMapping{}
	}
	if end < len(matched) {
		out.PaginationToken = base64.RawURLEncoding.EncodeToString([]byte(matched[end-1].ResourceARN))
	}
	return out, nil
}

// matchesTagging applies GetResources' filters: every TagFilter (a key
// with any of its values, or any value when it lists none), one of the
// resource types ("service" or "service:type", as in the ARN), one of the
// ARNs.
func matchesTagging(r ssmsvc.Tagged, in getResourcesInput) bool {
	for _, f := range in.TagFilters {
		i := slices.IndexFunc(r.Tags, func(t ssmsvc.Tag) bool { return t.Key == f.Key })
		if i < 0 || (len(f.Values) > 0 && !slices.Contains(f.Values, r.Tags[i].Value)) {
			return false
		}
	}
	if in.ResourceTypeFilters != nil {
		// arn:partition:service:region:account:type/id
		parts := strings.SplitN(r.ARN, ":", 6)
		service, typ := parts[2], strings.SplitN(parts[5], "/", 2)[0]
		if !slices.ContainsFunc(in.ResourceTypeFilters, func(f string) bool {
			return f == service || f == service+":"+typ
		}) {
			return false
		}
	}
	return in.ResourceARNList == nil || slices.Contains(in.ResourceARNList, r.ARN)
}

func taggingInvalid(format string, args ...any) error {
	return apierr.New(http.StatusBadRequest, "InvalidParameterException", format, args...)
}
