package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"

	"github.com/orgpatch/orgpatch/internal/sim/apierr"
	"github.com/orgpatch/orgpatch/internal/sim/smodel"
)

// ServiceSecurityHub is Security Hub's signing name.
const ServiceSecurityHub = "securityhub"

// Security Hub's documented limits on BatchImportFindings.
const (
	MaxFindingsPerImport = 100        // the model's list max
	MaxFindingBytes      = 240 * 1024 // "The maximum allowed size for a finding is 240 Kb."
)

// shubStore holds the findings imported into each account x region, by
// ProductArn and Id, in the order first imported.
type shubStore struct {
	mu   sync.Mutex
	hubs map[string]*findingHub // account/region
}

type findingHub struct {
	order []string                   // ProductArn + "\x00" + Id
	byKey map[string]json.RawMessage // the finding as last imported
}

// SecurityHubFindings returns the findings imported into account x region,
// in the order first imported, each as its JSON.
func (s *Server) SecurityHubFindings(account, region string) []json.RawMessage {
	s.shub.mu.Lock()
	defer s.shub.mu.Unlock()
	h := s.shub.hubs[account+"/"+region]
	if h == nil {
		return nil
	}
	out := make([]json.RawMessage, 0, len(h.order))
	for _, k := range h.order {
		out = append(out, slices.Clone(h.byKey[k]))
	}
	return out
}

// importedFinding is what the simulator reads of a finding.
type importedFinding struct {
	SchemaVersion string `json:"SchemaVersion"`
	Id            string `json:"Id"`
	ProductArn    string `json:"ProductArn"`
	AwsAccountId  string `json:"AwsAccountId"`
	GeneratorId   string `json:"GeneratorId"`
	RecordState   string `json:"RecordState"`
	UpdatedAt     string `json:"UpdatedAt"`
}

// securityHub serves BatchImportFindings and GetFindings. Assumption (AWS
// documents the opposite case, an account without Security Hub, as
// InvalidAccessException): Security Hub is enabled in every account and
// region the simulator serves.
func (s *Server) securityHub(req *request) (any, error) {
	if vs := smodel.Validate(ServiceSecurityHub, req.op, req.body); len(vs) > 0 {
		return nil, apierr.BadRequest("InvalidInputException", "%s", smodel.Message(vs))
	}
	switch req.op {
	case "BatchImportFindings":
		return s.batchImportFindings(req)
	case "GetFindings":
		return s.getFindings(req)
	}
	return nil, apierr.New(http.StatusNotFound, "UnknownOperationException", "The simulator does not implement Security Hub %s.", req.op)
}

type importError struct {
	Id           string `json:"Id"`
	ErrorCode    string `json:"ErrorCode"`
	ErrorMessage string `json:"ErrorMessage"`
}

func (s *Server) batchImportFindings(req *request) (any, error) {
	var in struct {
		Findings []json.RawMessage `json:"Findings"`
	}
	if err := decodeJSON(req.body, &in); err != nil {
		return nil, err
	}
	account := req.caller.Account
	defaultProduct := fmt.Sprintf("arn:aws:securityhub:%s:%s:product/%s/default", req.region, account, account)
	s.shub.mu.Lock()
	defer s.shub.mu.Unlock()
	if s.shub.hubs == nil {
		s.shub.hubs = map[string]*findingHub{}
	}
	h := s.shub.hubs[account+"/"+req.region]
	if h == nil {
		h = &findingHub{byKey: map[string]json.RawMessage{}}
		s.shub.hubs[account+"/"+req.region] = h
	}
	failed := []importError{}
	ok := 0
	for _, raw := range in.Findings {
		var f importedFinding
		if err := json.Unmarshal(raw, &f); err != nil {
			failed = append(failed, importError{Id: f.Id, ErrorCode: "InvalidInput", ErrorMessage: "Finding does not decode: " + err.Error()})
			continue
		}
		// AWS's FailedFindings codes are not enumerated in its docs; the
		// simulator answers InvalidInput for a finding outside ASFF or its
		// size and AccessDeniedException for one the caller may not import
		// (an assumption in the shape of AWS's answers).
		switch {
		case len(raw) > MaxFindingBytes:
			failed = append(failed, importError{f.Id, "InvalidInput", fmt.Sprintf("Finding size %d bytes exceeds the maximum of %d bytes", len(raw), MaxFindingBytes)})
		case f.SchemaVersion != "2018-10-08":
			failed = append(failed, importError{f.Id, "InvalidInput", "Finding does not adhere to Amazon Finding Format. data.SchemaVersion should be equal to one of the allowed values: 2018-10-08"})
		case f.RecordState != "" && f.RecordState != "ACTIVE" && f.RecordState != "ARCHIVED":
			failed = append(failed, importError{f.Id, "InvalidInput", "Finding does not adhere to Amazon Finding Format. data.RecordState should be equal to one of the allowed values: ACTIVE, ARCHIVED"})
		case f.ProductArn != defaultProduct:
			// Only the default product is integrated in the simulator.
			failed = append(failed, importError{f.Id, "AccessDeniedException", fmt.Sprintf("Account %s is not authorized to import findings for product %s", account, f.ProductArn)})
		case f.AwsAccountId != account:
			// AWS: with the default product ARN the calling account must be
			// the finding's AwsAccountId.
			failed = append(failed, importError{f.Id, "AccessDeniedException", fmt.Sprintf("Account %s is not authorized to import findings for account %s with product %s", account, f.AwsAccountId, f.ProductArn)})
		default:
			key := f.ProductArn + "\x00" + f.Id
			if _, seen := h.byKey[key]; !seen {
				h.order = append(h.order, key)
			}
			h.byKey[key] = slices.Clone(raw)
			ok++
		}
	}
	return map[string]any{"FailedCount": len(failed), "SuccessCount": ok, "FailedFindings": failed}, nil
}

// getFindings answers the findings of the caller's account x region, in
// import order. Of the filters it honours StringFilter EQUALS on Id,
// ProductArn, GeneratorId, AwsAccountId and RecordState; any other filter is
// refused rather than silently ignored (a simulator limit, not AWS's).
func (s *Server) getFindings(req *request) (any, error) {
	var in struct {
		Filters    map[string][]struct{ Value, Comparison string }
		NextToken  string
		MaxResults int
	}
	if err := decodeJSON(req.body, &in); err != nil {
		return nil, err
	}
	for name, fs := range in.Filters {
		switch name {
		case "Id", "ProductArn", "GeneratorId", "AwsAccountId", "RecordState":
		default:
			return nil, apierr.BadRequest("InvalidInputException", "the simulator does not filter on %s", name)
		}
		for _, f := range fs {
			if f.Comparison != "EQUALS" {
				return nil, apierr.BadRequest("InvalidInputException", "the simulator filters %s only with EQUALS, not %q", name, f.Comparison)
			}
		}
	}
	limit := in.MaxResults
	if limit == 0 {
		limit = 100
	}
	start := 0
	if in.NextToken != "" {
		n, err := strconv.Atoi(in.NextToken)
		if err != nil || n < 0 {
			return nil, apierr.BadRequest("InvalidInputException", "Invalid NextToken")
		}
		start = n
	}
	all := s.SecurityHubFindings(req.caller.Account, req.region)
	var match []json.RawMessage
	for _, raw := range all {
		var f map[string]any
		if json.Unmarshal(raw, &f) != nil {
			continue
		}
		if f["RecordState"] == nil {
			f["RecordState"] = "ACTIVE"
		}
		keep := true
		for name, fs := range in.Filters {
			any := false
			for _, c := range fs {
				if f[name] == c.Value {
					any = true
				}
			}
			keep = keep && (len(fs) == 0 || any)
		}
		if keep {
			match = append(match, raw)
		}
	}
	out := map[string]any{"Findings": []json.RawMessage{}}
	if start < len(match) {
		end := min(start+limit, len(match))
		out["Findings"] = match[start:end]
		if end < len(match) {
			out["NextToken"] = strconv.Itoa(end)
		}
	}
	return out, nil
}
