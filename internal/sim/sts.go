package sim

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/orgpatch/orgpatch/internal/sim/apierr"
)

// roleARNRe parses the role ARNs AssumeRole accepts: account and role name
// (after an optional path).
var roleARNRe = regexp.MustCompile(`^arn:aws:iam::(\d{12}):role/(?:[\x21-\x7e]*/)?([\w+=,.@-]{1,64})$`)

type stsMetadata struct {
	RequestID string `xml:"RequestId"`
}

type assumeRoleResponse struct {
	XMLName  xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ AssumeRoleResponse"`
	Result   assumeRoleResult
	Metadata stsMetadata `xml:"ResponseMetadata"`
}

type assumeRoleResult struct {
	XMLName     xml.Name `xml:"AssumeRoleResult"`
	Credentials struct {
		AccessKeyID     string `xml:"AccessKeyId"`
		SecretAccessKey string
		SessionToken    string
		Expiration      string
	}
	AssumedRoleUser struct {
		Arn           string
		AssumedRoleID string `xml:"AssumedRoleId"`
	}
	PackedPolicySize int
}

type callerIdentityResponse struct {
	XMLName xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ GetCallerIdentityResponse"`
	Result  struct {
		Arn     string
		UserID  string `xml:"UserId"`
		Account string
	} `xml:"GetCallerIdentityResult"`
	Metadata stsMetadata `xml:"ResponseMetadata"`
}

// sts serves AWS Security Token Service (Query protocol).
func (s *Server) sts(req *request) (any, error) {
	switch req.op {
	case "GetCallerIdentity":
		var out callerIdentityResponse
		out.Result.Arn, out.Result.UserID, out.Result.Account = req.caller.ARN, req.caller.UserID, req.caller.Account
		out.Metadata.RequestID = req.id
		return out, nil
	case "AssumeRole":
		return s.assumeRole(req)
	}
	return nil, apierr.BadRequest("InvalidAction", "Could not find operation %s for version 2011-06-15", req.op)
}

func (s *Server) assumeRole(req *request) (any, error) {
	if err := validateForm(ServiceSTS, req); err != nil {
		return nil, err
	}
	roleARN, sessionName := req.form["RoleArn"], req.form["RoleSessionName"]
	duration := 3600
	if d, ok := req.form["DurationSeconds"]; ok {
		duration, _ = strconv.Atoi(d) // the model check above proved it a number in range
	}
	m := roleARNRe.FindStringSubmatch(roleARN)
	if m == nil {
		return nil, apierr.BadRequest("ValidationError", "%s is invalid", roleARN)
	}
	account, roleName := m[1], m[2]
	if strings.HasSuffix(req.caller.ARN, ":root") {
		return nil, apierr.New(http.StatusForbidden, "AccessDenied", "Roles may not be assumed by root accounts.")
	}
	denied := apierr.New(http.StatusForbidden, "AccessDenied", "User: %s is not authorized to perform: sts:AssumeRole on resource: %s", req.caller.ARN, roleARN)

	s.mu.Lock()
	role, ok := s.findRole(account, roleName)
	s.mu.Unlock()
	if !ok || s.opts.denied[account] {
		return nil, denied
	}
	trusted := role.Trust
	if len(trusted) == 0 {
		trusted = []string{s.org.mgmt}
	}
	if !slices.Contains(trusted, req.caller.Account) {
		return nil, denied
	}
	maxSession := role.MaxSessionSeconds
	if maxSession == 0 {
		maxSession = 3600
	}
	if duration > maxSession {
		return nil, apierr.BadRequest("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	if strings.Contains(req.caller.ARN, ":assumed-role/") && duration > 3600 {
		return nil, apierr.BadRequest("ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	}
	roleID := "AROA" + randomString(keyAlphabet, 17)
	arn := fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", account, roleName, sessionName)
	key, sess := s.issue(identity{Account: account, ARN: arn, UserID: roleID + ":" + sessionName}, time.Duration(duration)*time.Second, req.now)

	var out assumeRoleResponse
	c := &out.Result.Credentials
	c.AccessKeyID, c.SecretAccessKey, c.SessionToken = key, randomString(tokenAlphabet[:62], 40), sess.token
	c.Expiration = sess.expires.UTC().Format(time.RFC3339)
	out.Result.AssumedRoleUser.Arn = arn
	out.Result.AssumedRoleUser.AssumedRoleID = roleID + ":" + sessionName
	out.Metadata.RequestID = req.id
	return out, nil
}

// findRole looks a role up for AssumeRole, counting the attempt against a
// role that has not arrived yet (WithRoleArrival); s.mu is held.
func (s *Server) findRole(account, name string) (Role, bool) {
	a := s.org.accounts[account]
	if a == nil || a.status != StatusActive {
		return Role{}, false
	}
	if r, ok := a.roles[name]; ok {
		return r, true
	}
	p := s.org.pending[account]
	if p == nil || p.role != name {
		return Role{}, false
	}
	if p.remaining > 0 {
		p.remaining--
		return Role{}, false
	}
	delete(s.org.pending, account)
	r := Role{Name: name}
	a.roles[name] = r
	return r, true
}
