package trigger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/cfn"
)

// ErrMalformed is wrapped by every error Decode returns: the input cannot be
// understood, so nothing may be done for it.
var ErrMalformed = errors.New("malformed event")

// FieldError says which field of the input is wrong and how.
type FieldError struct {
	// Field is the JSON path of the field, e.g. "detail.serviceEventDetails".
	Field string
	// Problem says what is wrong with it.
	Problem string
}

func (e *FieldError) Error() string { return fmt.Sprintf("event field %s: %s", e.Field, e.Problem) }

// Unwrap makes every FieldError match ErrMalformed.
func (e *FieldError) Unwrap() error { return ErrMalformed }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

// quoteLimit bounds how much of a bad value an error quotes: a value can be
// megabytes long, and errors go to logs, metrics and CloudFormation's 4 KB
// answer.
const quoteLimit = 64

// quoted is s quoted, at most its first quoteLimit bytes (on a rune
// boundary), with its length when it was cut.
func quoted(s string) string {
	if len(s) <= quoteLimit {
		return strconv.Quote(s)
	}
	cut := strings.ToValidUTF8(s[:quoteLimit], "")
	return fmt.Sprintf("%s... (%d bytes)", strconv.Quote(cut), len(s))
}

// The EventBridge names Decode recognises.
const (
	sourceSchedule      = "aws.events"
	sourceControlTower  = "aws.controltower"
	sourceOrganizations = "aws.organizations"
	// sourceOrgpatch is the report schedule's own event: its rule's target
	// sends this constant input (events/compliance-report.json) instead of
	// the Scheduled Event, which would not say which schedule fired.
	sourceOrgpatch = "orgpatch"

	detailScheduled       = "Scheduled Event"
	detailReport          = "Compliance Report"
	detailServiceEvent    = "AWS Service Event via CloudTrail"
	detailAPICall         = "AWS API Call via CloudTrail"
	stateSucceeded        = "SUCCEEDED"
	handshakeAccepted     = "ACCEPTED"
	handshakeInvite       = "INVITE"
	partyAccount          = "ACCOUNT"
	cfnPropServiceToken   = "ServiceToken"
	cfnPropServiceTimeout = "ServiceTimeout"
)

var accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)

// Decode reads one Lambda input: a CloudFormation custom resource request, a
// step of the whole-organization state machine (steps.go) or
// an EventBridge event (Control Tower lifecycle, Organizations through
// CloudTrail, the schedule). Events it does not act on decode to an Ignore
// request with a Reason. Every error wraps ErrMalformed and, where one field
// is at fault, is a *FieldError naming it.
func Decode(raw json.RawMessage) (Request, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil {
		return Request{}, fmt.Errorf("%w: not a JSON object: %w", ErrMalformed, err)
	}
	if probe == nil {
		return Request{}, fmt.Errorf("%w: null instead of a JSON object", ErrMalformed)
	}
	_, isCFN := probe["RequestType"]
	_, isEvent := probe["source"]
	_, isStep := probe["step"]
	_, isBatch := probe["BatchInput"]
	switch {
	case (isStep || isBatch) && (isCFN || isEvent):
		return Request{}, fmt.Errorf("%w: has both a state machine step (step or BatchInput) and RequestType or source", ErrMalformed)
	case isStep || isBatch:
		return decodeStep(raw, probe)
	case isCFN && isEvent:
		return Request{}, fmt.Errorf("%w: has both RequestType (CloudFormation) and source (EventBridge)", ErrMalformed)
	case isCFN:
		return decodeCloudFormation(raw)
	case isEvent:
		return decodeEventBridge(raw)
	default:
		return Request{}, fmt.Errorf("%w: neither a CloudFormation custom resource request (no RequestType), an EventBridge event (no source) nor a state machine step (no step, no BatchInput)", ErrMalformed)
	}
}

func decodeCloudFormation(raw json.RawMessage) (Request, error) {
	var ev cfn.Event
	if err := json.Unmarshal(raw, &ev); err != nil {
		return Request{}, fmt.Errorf("%w: CloudFormation request: %w", ErrMalformed, err)
	}
	if err := answerable("", &ev); err != nil {
		return Request{}, err
	}
	req := Request{
		Source:         SourceCloudFormation,
		CloudFormation: &ev,
		Properties:     CleanProperties(ev.ResourceProperties),
		Reason:         fmt.Sprintf("CloudFormation %s of %s in %s", ev.RequestType, ev.LogicalResourceID, ev.StackID),
		ID:             ev.RequestID,
	}
	switch ev.RequestType {
	case cfn.RequestCreate:
		req.Action = Converge
	case cfn.RequestUpdate:
		req.Action = Converge
		req.OldProperties = CleanProperties(ev.OldResourceProperties)
	case cfn.RequestDelete:
		req.Action = Remove
	case "":
		return Request{}, fieldErr("RequestType", "empty; want one of Create, Update, Delete")
	default:
		return Request{}, fieldErr("RequestType", "%s is not one of Create, Update, Delete", quoted(string(ev.RequestType)))
	}
	return req, nil
}

// answerable checks that ev has what its answer needs; field names are
// prefixed with prefix.
func answerable(prefix string, ev *cfn.Event) error {
	for _, f := range []struct{ name, value string }{
		{"RequestId", ev.RequestID},
		{"ResponseURL", ev.ResponseURL},
		{"StackId", ev.StackID},
		{"LogicalResourceId", ev.LogicalResourceID},
	} {
		if f.value == "" {
			return fieldErr(prefix+f.name, "missing from the CloudFormation request")
		}
	}
	if u, err := url.Parse(ev.ResponseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		// Not the value: a presigned URL's query is its signature.
		return fieldErr(prefix+"ResponseURL", "is not an http(s) URL")
	}
	return nil
}

// CleanProperties drops the properties CloudFormation adds to every custom
// resource, leaving the configuration. It copies: the event stays intact.
func CleanProperties(props map[string]any) map[string]any {
	if props == nil {
		return nil
	}
	out := maps.Clone(props)
	delete(out, cfnPropServiceToken)
	delete(out, cfnPropServiceTimeout)
	return out
}

// envelope is an EventBridge event; Detail is decoded once Source and
// DetailType say what it holds.
type envelope struct {
	Source     string          `json:"source"`
	DetailType string          `json:"detail-type"`
	Account    string          `json:"account"`
	Region     string          `json:"region"`
	ID         string          `json:"id"`
	Detail     json.RawMessage `json:"detail"`
}

// cloudTrailDetail is the detail of the "... via CloudTrail" detail types.
type cloudTrailDetail struct {
	EventName    string `json:"eventName"`
	ErrorCode    string `json:"errorCode"`
	ErrorMessage string `json:"errorMessage"`
	UserIdentity struct {
		AccountID string `json:"accountId"`
	} `json:"userIdentity"`
	RequestParameters   json.RawMessage `json:"requestParameters"`
	ResponseElements    json.RawMessage `json:"responseElements"`
	ServiceEventDetails json.RawMessage `json:"serviceEventDetails"`
}

func decodeEventBridge(raw json.RawMessage) (Request, error) {
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return Request{}, fmt.Errorf("%w: EventBridge event: %w", ErrMalformed, err)
	}
	if env.Source == "" {
		return Request{}, fieldErr("source", "empty")
	}
	req, err := decodeEnvelope(env)
	if err != nil || req.Action != Converge {
		// The report's event is the rule's constant input, with no
		// envelope, and changes nothing.
		return req, err
	}
	// Every event orgpatch converges on is recorded in the account its
	// rules live in; the handler holds Account to it (the rule is one
	// guard, a direct invocation skips it).
	if err := checkAccountID("account", env.Account); err != nil {
		return Request{}, err
	}
	req.Account = env.Account
	return req, nil
}

// decodeEnvelope reads what an EventBridge event asks for, by its source
// and detail type.
func decodeEnvelope(env envelope) (Request, error) {
	switch env.Source {
	case sourceSchedule:
		if env.DetailType != detailScheduled {
			return ignore(SourceSchedule, "%s event %s is not the schedule", env.Source, quoted(env.DetailType)), nil
		}
		return Request{Source: SourceSchedule, Action: Converge, Reason: "scheduled drift repair of the whole organization", ID: env.ID}, nil
	case sourceControlTower:
		if env.DetailType != detailServiceEvent {
			return ignore(SourceControlTower, "Control Tower %s is not a lifecycle event", quoted(env.DetailType)), nil
		}
		d, err := cloudTrail(env.Detail)
		if err != nil {
			return Request{}, err
		}
		return controlTower(d)
	case sourceOrganizations:
		switch env.DetailType {
		case detailServiceEvent, detailAPICall:
		default:
			return ignore(SourceOrganizations, "Organizations %s is not a CloudTrail event", quoted(env.DetailType)), nil
		}
		d, err := cloudTrail(env.Detail)
		if err != nil {
			return Request{}, err
		}
		return organizations(env.DetailType, d)
	case sourceOrgpatch:
		if env.DetailType != detailReport {
			return ignore(SourceReport, "orgpatch event %s is not the compliance report", quoted(env.DetailType)), nil
		}
		// The schedule's input carries its event's id (an input
		// transformer), which Lambda's retries keep: the report's run id.
		return Request{Source: SourceReport, Action: Report, Reason: "scheduled compliance report of the whole organization", ID: env.ID}, nil
	default:
		return ignore(SourceUnknown, "%s %s names nothing to converge", env.Source, quoted(env.DetailType)), nil
	}
}

func ignore(src Source, format string, args ...any) Request {
	return Request{Source: src, Action: Ignore, Reason: fmt.Sprintf(format, args...)}
}

func cloudTrail(raw json.RawMessage) (cloudTrailDetail, error) {
	var d cloudTrailDetail
	if isNull(raw) {
		return d, fieldErr("detail", "missing")
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return d, fmt.Errorf("%w: detail: %w", ErrMalformed, err)
	}
	if d.EventName == "" {
		return d, fieldErr("detail.eventName", "empty")
	}
	return d, nil
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}

// lifecycleStatus is Control Tower's createManagedAccountStatus and
// updateManagedAccountStatus.
type lifecycleStatus struct {
	State   string `json:"state"`
	Message string `json:"message"`
	Account struct {
		AccountID   string `json:"accountId"`
		AccountName string `json:"accountName"`
	} `json:"account"`
	OrganizationalUnit struct {
		ID string `json:"organizationalUnitId"`
	} `json:"organizationalUnit"`
}

func controlTower(d cloudTrailDetail) (Request, error) {
	var key string
	switch d.EventName {
	case "CreateManagedAccount":
		key = "createManagedAccountStatus"
	case "UpdateManagedAccount":
		key = "updateManagedAccountStatus"
	default:
		return ignore(SourceControlTower, "Control Tower %s is not an account lifecycle event", d.EventName), nil
	}
	field := "detail.serviceEventDetails." + key
	var details map[string]json.RawMessage
	if isNull(d.ServiceEventDetails) {
		return Request{}, fieldErr("detail.serviceEventDetails", "missing")
	}
	if err := json.Unmarshal(d.ServiceEventDetails, &details); err != nil {
		return Request{}, fmt.Errorf("%w: detail.serviceEventDetails: %w", ErrMalformed, err)
	}
	if isNull(details[key]) {
		return Request{}, fieldErr(field, "missing from a %s event", d.EventName)
	}
	var st lifecycleStatus
	if err := json.Unmarshal(details[key], &st); err != nil {
		return Request{}, fmt.Errorf("%w: %s: %w", ErrMalformed, field, err)
	}
	if !strings.EqualFold(st.State, stateSucceeded) {
		req := ignore(SourceControlTower, "Control Tower %s of %s is %s, not %s",
			d.EventName, orUnknown(st.Account.AccountID), orUnknown(st.State), stateSucceeded)
		if st.Message != "" {
			req.Reason += ": " + st.Message
		}
		return req, nil
	}
	if err := checkAccountID(field+".account.accountId", st.Account.AccountID); err != nil {
		return Request{}, err
	}
	return Request{
		Source:   SourceControlTower,
		Action:   Converge,
		Accounts: []string{st.Account.AccountID},
		Reason: fmt.Sprintf("Control Tower %s of %s (%s) in %s succeeded",
			d.EventName, st.Account.AccountID, st.Account.AccountName, orUnknown(st.OrganizationalUnit.ID)),
	}, nil
}

func organizations(detailType string, d cloudTrailDetail) (Request, error) {
	if d.ErrorCode != "" {
		return ignore(SourceOrganizations, "Organizations %s failed (%s): nothing changed", d.EventName, d.ErrorCode), nil
	}
	// By event name alone: CloudTrail reports CreateAccountResult as a
	// service event and the others as API calls, but the shape of the detail,
	// not the detail type, is what carries the account.
	switch d.EventName {
	case "CreateAccountResult":
		return createAccountResult(d)
	case "AcceptHandshake":
		return acceptHandshake(d)
	case "AccountJoinedOrganization":
		return accountJoined(d)
	case "MoveAccount":
		return moveAccount(d)
	case "TagResource", "UntagResource":
		return tagResource(d)
	default:
		return ignore(SourceOrganizations, "Organizations %s (%s) names no account to converge", d.EventName, detailType), nil
	}
}

func createAccountResult(d cloudTrailDetail) (Request, error) {
	const field = "detail.serviceEventDetails.createAccountStatus"
	var details struct {
		Status *struct {
			State         string `json:"state"`
			AccountID     string `json:"accountId"`
			FailureReason string `json:"failureReason"`
		} `json:"createAccountStatus"`
	}
	if isNull(d.ServiceEventDetails) {
		return Request{}, fieldErr("detail.serviceEventDetails", "missing")
	}
	if err := json.Unmarshal(d.ServiceEventDetails, &details); err != nil {
		return Request{}, fmt.Errorf("%w: detail.serviceEventDetails: %w", ErrMalformed, err)
	}
	st := details.Status
	if st == nil {
		return Request{}, fieldErr(field, "missing from a CreateAccountResult event")
	}
	if !strings.EqualFold(st.State, stateSucceeded) {
		return ignore(SourceOrganizations, "Organizations CreateAccountResult is %s, not %s (%s)",
			orUnknown(st.State), stateSucceeded, orUnknown(st.FailureReason)), nil
	}
	if err := checkAccountID(field+".accountId", st.AccountID); err != nil {
		return Request{}, err
	}
	return Request{
		Source:   SourceOrganizations,
		Action:   Converge,
		Accounts: []string{st.AccountID},
		Reason:   fmt.Sprintf("Organizations created account %s", st.AccountID),
	}, nil
}

type handshake struct {
	ID      string `json:"id"`
	Arn     string `json:"arn"`
	State   string `json:"state"`
	Action  string `json:"action"`
	Parties []struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	} `json:"parties"`
}

// handshakeArnAccount is the account in a handshake ARN: the management
// account that sent the handshake.
var handshakeArnAccount = regexp.MustCompile(`^arn:[a-z-]+:organizations::([0-9]{12}):handshake/`)

// acceptHandshake finds the account that joined. An invitation sent to an
// account id names it as the ACCOUNT party; one sent to an e-mail address
// names no account, and then the caller of AcceptHandshake (only the invited
// account may accept an invitation) is the account that joined.
func acceptHandshake(d cloudTrailDetail) (Request, error) {
	const field = "detail.responseElements.handshake"
	var resp struct {
		Handshake *handshake `json:"handshake"`
	}
	if isNull(d.ResponseElements) {
		return Request{}, fieldErr("detail.responseElements", "missing from a successful AcceptHandshake")
	}
	if err := json.Unmarshal(d.ResponseElements, &resp); err != nil {
		return Request{}, fmt.Errorf("%w: detail.responseElements: %w", ErrMalformed, err)
	}
	h := resp.Handshake
	if h == nil {
		return Request{}, fieldErr(field, "missing from a successful AcceptHandshake")
	}
	// AWS's own records vary in case: its published AcceptHandshake record
	// spells the action "invite".
	if !strings.EqualFold(h.State, handshakeAccepted) {
		return ignore(SourceOrganizations, "handshake %s is %s, not %s", h.ID, orUnknown(h.State), handshakeAccepted), nil
	}
	if h.Action != "" && !strings.EqualFold(h.Action, handshakeInvite) {
		return ignore(SourceOrganizations, "handshake %s is %s, not an invitation: no account joined", h.ID, h.Action), nil
	}
	var management string
	if m := handshakeArnAccount.FindStringSubmatch(h.Arn); m != nil {
		management = m[1]
	}
	var joined []string
	for i, p := range h.Parties {
		if !strings.EqualFold(p.Type, partyAccount) || p.ID == management {
			continue
		}
		if err := checkAccountID(fmt.Sprintf("%s.parties[%d].id", field, i), p.ID); err != nil {
			return Request{}, err
		}
		joined = append(joined, p.ID)
	}
	switch len(joined) {
	case 0:
		caller := d.UserIdentity.AccountID
		if err := checkAccountID("detail.userIdentity.accountId", caller); err != nil {
			return Request{}, err
		}
		if caller == management {
			return Request{}, fieldErr(field+".parties", "no invited account: the handshake names only the management account %s", management)
		}
		joined = []string{caller}
	case 1:
	default:
		return Request{}, fieldErr(field+".parties", "%d ACCOUNT parties besides the management account, want 1", len(joined))
	}
	return Request{
		Source:   SourceOrganizations,
		Action:   Converge,
		Accounts: joined,
		Reason:   fmt.Sprintf("account %s accepted invitation %s", joined[0], h.ID),
	}, nil
}

// accountJoined reads AccountJoinedOrganization, which Organizations logs
// in the management account when an invited account accepts (the
// AcceptHandshake call is logged in the invited account, so a management
// account's rule may never see it). AWS documents the event's joinedMethod
// and joinedTime fields but publishes no whole record; orgpatch reads the
// account from serviceEventDetails.accountId, beside them (an assumption
// docs/deploy.md names, under its known limits).
func accountJoined(d cloudTrailDetail) (Request, error) {
	const field = "detail.serviceEventDetails"
	var details struct {
		AccountID    string `json:"accountId"`
		JoinedMethod string `json:"joinedMethod"`
	}
	if isNull(d.ServiceEventDetails) {
		return Request{}, fieldErr(field, "missing from an AccountJoinedOrganization event")
	}
	if err := json.Unmarshal(d.ServiceEventDetails, &details); err != nil {
		return Request{}, fmt.Errorf("%w: %s: %w", ErrMalformed, field, err)
	}
	if err := checkAccountID(field+".accountId", details.AccountID); err != nil {
		return Request{}, err
	}
	return Request{
		Source:   SourceOrganizations,
		Action:   Converge,
		Accounts: []string{details.AccountID},
		Reason:   fmt.Sprintf("account %s joined the organization (%s)", details.AccountID, orUnknown(details.JoinedMethod)),
	}, nil
}

func moveAccount(d cloudTrailDetail) (Request, error) {
	var p struct {
		AccountID           string `json:"accountId"`
		SourceParentID      string `json:"sourceParentId"`
		DestinationParentID string `json:"destinationParentId"`
	}
	if isNull(d.RequestParameters) {
		return Request{}, fieldErr("detail.requestParameters", "missing from a MoveAccount event")
	}
	if err := json.Unmarshal(d.RequestParameters, &p); err != nil {
		return Request{}, fmt.Errorf("%w: detail.requestParameters: %w", ErrMalformed, err)
	}
	if err := checkAccountID("detail.requestParameters.accountId", p.AccountID); err != nil {
		return Request{}, err
	}
	return Request{
		Source:   SourceOrganizations,
		Action:   Converge,
		Accounts: []string{p.AccountID},
		Reason:   fmt.Sprintf("account %s moved from %s to %s", p.AccountID, orUnknown(p.SourceParentID), orUnknown(p.DestinationParentID)),
	}, nil
}

// tagResource converges an account whose Organizations tags changed: rings
// select accounts by tag, so the account may have changed ring. Tags of an
// OU, the root or a policy select no ring.
func tagResource(d cloudTrailDetail) (Request, error) {
	var p struct {
		ResourceID string `json:"resourceId"`
	}
	if isNull(d.RequestParameters) {
		return Request{}, fieldErr("detail.requestParameters", "missing from a %s event", d.EventName)
	}
	if err := json.Unmarshal(d.RequestParameters, &p); err != nil {
		return Request{}, fmt.Errorf("%w: detail.requestParameters: %w", ErrMalformed, err)
	}
	if p.ResourceID == "" {
		return Request{}, fieldErr("detail.requestParameters.resourceId", "empty; want the tagged resource's id")
	}
	if !accountIDPattern.MatchString(p.ResourceID) {
		return ignore(SourceOrganizations, "Organizations %s of %s: not an account, so no account changes ring", d.EventName, p.ResourceID), nil
	}
	return Request{
		Source:   SourceOrganizations,
		Action:   Converge,
		Accounts: []string{p.ResourceID},
		Reason:   fmt.Sprintf("account %s tags changed (%s)", p.ResourceID, d.EventName),
	}, nil
}

func checkAccountID(field, id string) error {
	if id == "" {
		return fieldErr(field, "empty; want a 12-digit account id")
	}
	if !accountIDPattern.MatchString(id) {
		return fieldErr(field, "%s is not a 12-digit account id", quoted(id))
	}
	return nil
}

func orUnknown(s string) string {
	if strings.TrimSpace(s) == "" {
		return "(unknown)"
	}
	return s
}
