package sim

import (
	"encoding/base64"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/orgpatch/orgpatch/internal/sim/apierr"
	"github.com/orgpatch/orgpatch/internal/sim/smodel"
)

// orgWrites are the Organizations operations that change the organization.
var orgWrites = map[string]bool{
	"CreateAccount": true, "MoveAccount": true, "TagResource": true,
	"UntagResource": true, "CloseAccount": true,
}

// orgPageSize is the page size when a caller gives no MaxResults.
const orgPageSize = 20

// epoch is a timestamp as JSON 1.1 sends it: seconds since the epoch.
type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	t := time.Time(e)
	return []byte(strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)), nil
}

type orgAccount struct {
	Id, Arn, Email, Name, Status, State, JoinedMethod string
	JoinedTimestamp                                   epoch
}

type orgUnit struct{ Id, Arn, Name string }

type orgRoot struct {
	Id, Arn, Name string
	PolicyTypes   []struct{}
}

type orgParent struct{ Id, Type string }

type orgTag struct{ Key, Value string }

type orgCreateStatus struct {
	Id                 string
	AccountName        string
	State              string
	RequestedTimestamp epoch
	CompletedTimestamp *epoch `json:",omitempty"`
	AccountId          string `json:",omitempty"`
	FailureReason      string `json:",omitempty"`
}

// orgInput is the union of the members the implemented operations read.
type orgInput struct {
	AccountId, ParentId, ChildId, ResourceId string
	SourceParentId, DestinationParentId      string
	CreateAccountRequestId                   string
	Email, AccountName, RoleName             string
	NextToken                                *string
	MaxResults                               *int
	Tags                                     []orgTag
	TagKeys                                  []string
}

func orgInvalid(reason, format string, args ...any) error {
	return &reasonError{err: apierr.BadRequest("InvalidInputException", format, args...), Reason: reason}
}

// organizations serves AWS Organizations.
func (s *Server) organizations(req *request) (any, error) {
	// Only the management account may read or change the organization;
	// members may only describe it.
	if req.caller.Account != s.org.mgmt && req.op != "DescribeOrganization" {
		return nil, apierr.BadRequest("AccessDeniedException", "You don't have permissions to access this resource.")
	}
	if vs := smodel.Validate(ServiceOrganizations, req.op, req.body); len(vs) > 0 {
		return nil, orgInvalid(violationReason(vs[0]), "%s", smodel.Message(vs))
	}
	var in orgInput
	if err := decodeJSON(req.body, &in); err != nil {
		return nil, err
	}
	if orgWrites[req.op] {
		s.mu.Lock()
		defer s.mu.Unlock()
	} else {
		s.mu.RLock()
		defer s.mu.RUnlock()
	}
	st := s.org
	switch req.op {
	case "DescribeOrganization":
		m := st.accounts[st.mgmt]
		return map[string]any{"Organization": map[string]any{
			"Id": st.id, "Arn": fmt.Sprintf("arn:aws:organizations::%s:organization/%s", st.mgmt, st.id),
			"FeatureSet": "ALL", "MasterAccountArn": st.accountARN(st.mgmt), "MasterAccountId": st.mgmt,
			"MasterAccountEmail": m.email, "AvailablePolicyTypes": []struct{}{},
		}}, nil
	case "ListAccounts":
		all := make([]orgAccount, 0, len(st.order))
		for _, id := range st.order {
			all = append(all, st.account(id))
		}
		items, next, err := page(req.op, all, in)
		return listOutput("Accounts", items, next), err
	case "DescribeAccount":
		if st.accounts[in.AccountId] == nil {
			return nil, accountNotFound()
		}
		return map[string]any{"Account": st.account(in.AccountId)}, nil
	case "ListRoots":
		roots := []orgRoot{{Id: st.rootID, Arn: fmt.Sprintf("arn:aws:organizations::%s:root/%s/%s", st.mgmt, st.id, st.rootID), Name: "Root", PolicyTypes: []struct{}{}}}
		items, next, err := page(req.op, roots, in)
		return listOutput("Roots", items, next), err
	case "ListOrganizationalUnitsForParent":
		if !st.isParent(in.ParentId) {
			return nil, apierr.BadRequest("ParentNotFoundException", "We can't find a root or OU with the ParentId that you specified.")
		}
		var all []orgUnit
		for _, id := range st.ouOrder {
			if ou := st.ous[id]; ou.parent == in.ParentId {
				all = append(all, orgUnit{Id: ou.id, Arn: st.ouARN(ou.id), Name: ou.name})
			}
		}
		items, next, err := page(req.op, all, in)
		return listOutput("OrganizationalUnits", items, next), err
	case "ListAccountsForParent":
		if !st.isParent(in.ParentId) {
			return nil, apierr.BadRequest("ParentNotFoundException", "We can't find a root or OU with the ParentId that you specified.")
		}
		var all []orgAccount
		for _, id := range st.order {
			if st.accounts[id].parent == in.ParentId {
				all = append(all, st.account(id))
			}
		}
		items, next, err := page(req.op, all, in)
		return listOutput("Accounts", items, next), err
	case "ListParents":
		var parent string
		if a := st.accounts[in.ChildId]; a != nil {
			parent = a.parent
		} else if ou := st.ous[in.ChildId]; ou != nil {
			parent = ou.parent
		} else {
			return nil, apierr.BadRequest("ChildNotFoundException", "We can't find an organizational unit (OU) or AWS account with the ChildId that you specified.")
		}
		typ := "ORGANIZATIONAL_UNIT"
		if parent == st.rootID {
			typ = "ROOT"
		}
		items, next, err := page(req.op, []orgParent{{Id: parent, Type: typ}}, in)
		return listOutput("Parents", items, next), err
	case "ListTagsForResource":
		if !st.taggable(in.ResourceId) {
			return nil, targetNotFound()
		}
		tags := st.tags[in.ResourceId]
		all := make([]orgTag, 0, len(tags))
		for _, k := range sortedKeys(tags) {
			all = append(all, orgTag{Key: k, Value: tags[k]})
		}
		items, next, err := page(req.op, all, in)
		return listOutput("Tags", items, next), err
	case "TagResource":
		if !st.taggable(in.ResourceId) {
			return nil, targetNotFound()
		}
		merged := maps.Clone(st.tags[in.ResourceId])
		if merged == nil {
			merged = map[string]string{}
		}
		seen := map[string]bool{}
		for _, t := range in.Tags {
			if seen[t.Key] {
				return nil, orgInvalid("DUPLICATE_TAG_KEY", "Tag key %q is given more than once.", t.Key)
			}
			if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
				return nil, orgInvalid("INVALID_SYSTEM_TAGS_PARAMETER", "Tag keys starting with aws: are reserved for AWS use.")
			}
			seen[t.Key] = true
			merged[t.Key] = t.Value
		}
		if len(merged) > 50 {
			return nil, &reasonError{err: apierr.BadRequest("ConstraintViolationException", "You have exceeded the maximum of 50 tags on a resource."), Reason: "MAX_TAG_LIMIT_EXCEEDED"}
		}
		st.tags[in.ResourceId] = merged
		return nil, nil
	case "UntagResource":
		if !st.taggable(in.ResourceId) {
			return nil, targetNotFound()
		}
		for _, k := range in.TagKeys {
			delete(st.tags[in.ResourceId], k)
		}
		return nil, nil
	case "MoveAccount":
		a := st.accounts[in.AccountId]
		switch {
		case a == nil:
			return nil, accountNotFound()
		case !st.isParent(in.SourceParentId):
			return nil, apierr.BadRequest("SourceParentNotFoundException", "We can't find a source root or OU with the ParentId that you specified.")
		case !st.isParent(in.DestinationParentId):
			return nil, apierr.BadRequest("DestinationParentNotFoundException", "We can't find a destination root or OU with the ParentId that you specified.")
		case a.parent != in.SourceParentId:
			return nil, accountNotFound()
		case a.parent == in.DestinationParentId:
			return nil, apierr.BadRequest("DuplicateAccountException", "That account is already present in the specified destination.")
		}
		a.parent = in.DestinationParentId
		return nil, nil
	case "CreateAccount":
		tags := map[string]string{}
		for _, t := range in.Tags {
			tags[t.Key] = t.Value
		}
		cs := s.createAccount(in.AccountName, in.Email, in.RoleName, tags)
		// AWS answers before the account exists; DescribeCreateAccountStatus
		// tells the outcome.
		return map[string]any{"CreateAccountStatus": orgCreateStatus{
			Id: cs.id, AccountName: cs.name, State: "IN_PROGRESS", RequestedTimestamp: epoch(cs.requested),
		}}, nil
	case "DescribeCreateAccountStatus":
		cs := st.created[in.CreateAccountRequestId]
		if cs == nil {
			return nil, apierr.BadRequest("CreateAccountStatusNotFoundException", "We can't find an create account request with the CreateAccountRequestId that you specified.")
		}
		done := epoch(cs.requested)
		return map[string]any{"CreateAccountStatus": orgCreateStatus{
			Id: cs.id, AccountName: cs.name, State: cs.state, RequestedTimestamp: epoch(cs.requested),
			CompletedTimestamp: &done, AccountId: cs.account, FailureReason: cs.reason,
		}}, nil
	case "CloseAccount":
		a := st.accounts[in.AccountId]
		switch {
		case a == nil:
			return nil, accountNotFound()
		case a.id == st.mgmt:
			return nil, &reasonError{err: apierr.BadRequest("ConstraintViolationException", "You can't close the management account with this operation."), Reason: "CANNOT_CLOSE_MANAGEMENT_ACCOUNT"}
		case a.status != StatusActive:
			return nil, apierr.BadRequest("AccountAlreadyClosedException", "You attempted to close an account that is already closed.")
		}
		a.status = StatusPendingClosure
		return nil, nil
	}
	return nil, apierr.BadRequest("UnknownOperationException", "The simulator does not implement Organizations %s.", req.op)
}

// listOutput is a page of a list operation: the items under key, and
// NextToken only when there is a next page.
func listOutput(key string, items any, next *string) map[string]any {
	out := map[string]any{key: items}
	if next != nil {
		out["NextToken"] = *next
	}
	return out
}

func accountNotFound() error {
	return apierr.BadRequest("AccountNotFoundException", "You specified an account that doesn't exist.")
}

func targetNotFound() error {
	return apierr.BadRequest("TargetNotFoundException", "You specified a target that doesn't exist.")
}

// violationReason maps a model violation to InvalidInputException's Reason.
func violationReason(v smodel.Violation) string {
	switch v.Constraint {
	case smodel.Required:
		return "INPUT_REQUIRED"
	case smodel.Pattern:
		return "INVALID_PATTERN"
	case smodel.Enum:
		return "INVALID_ENUM"
	case smodel.Length:
		if strings.Contains(v.Message, "less than or equal") {
			return "MAX_LENGTH_EXCEEDED"
		}
		return "MIN_LENGTH_EXCEEDED"
	case smodel.Range:
		if strings.Contains(v.Message, "less than or equal") {
			return "MAX_VALUE_EXCEEDED"
		}
		return "MIN_VALUE_EXCEEDED"
	}
	return "INVALID_LIST_MEMBER"
}

func (st *orgState) accountARN(id string) string {
	return fmt.Sprintf("arn:aws:organizations::%s:account/%s/%s", st.mgmt, st.id, id)
}

func (st *orgState) ouARN(id string) string {
	return fmt.Sprintf("arn:aws:organizations::%s:ou/%s/%s", st.mgmt, st.id, id)
}

func (st *orgState) taggable(id string) bool {
	return st.accounts[id] != nil || st.isParent(id)
}

func (st *orgState) account(id string) orgAccount {
	a := st.accounts[id]
	return orgAccount{
		Id: a.id, Arn: st.accountARN(a.id), Email: a.email, Name: a.name,
		Status: a.status, State: a.status, JoinedMethod: a.joinedMethod, JoinedTimestamp: epoch(a.joined),
	}
}

// page cuts one page out of items for a paginated operation. Tokens are
// bound to their operation; a foreign or stale one is InvalidInputException.
func page[T any](op string, items []T, in orgInput) ([]T, *string, error) {
	size := orgPageSize
	if in.MaxResults != nil {
		size = *in.MaxResults
	}
	start := 0
	if in.NextToken != nil {
		raw, err := base64.RawURLEncoding.DecodeString(*in.NextToken)
		tokOp, n, ok := strings.Cut(string(raw), ":")
		start, _ = strconv.Atoi(n)
		if err != nil || !ok || tokOp != op || start <= 0 || start > len(items) {
			return nil, nil, orgInvalid("INVALID_NEXT_TOKEN", "The NextToken value is not valid.")
		}
	}
	end := min(start+size, len(items))
	out := items[start:end]
	if out == nil {
		out = []T{}
	}
	if end < len(items) {
		tok := base64.RawURLEncoding.EncodeToString([]byte(op + ":" + strconv.Itoa(end)))
		return out, &tok, nil
	}
	return out, nil, nil
}
