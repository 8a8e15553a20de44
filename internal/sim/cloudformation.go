package sim

import (
	"encoding/xml"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/orgpatch/orgpatch/internal/sim/apierr"
)

// ServiceCloudFormation is AWS CloudFormation's signing name. The
// simulator answers one read of it, DescribeStacks: the function asks it
// whether the stack really is being deleted or updated before it removes
// or tears down anything on a custom resource request's word.
const ServiceCloudFormation = "cloudformation"

// Stack is a CloudFormation stack as DescribeStacks describes it; tests set
// them with PutStack.
type Stack struct {
	// ID is the stack's ARN (arn:aws:cloudformation:REGION:ACCOUNT:stack/NAME/UUID):
	// its account and region place it.
	ID   string
	Name string
	// Status is a StackStatus (CREATE_COMPLETE, DELETE_IN_PROGRESS, ...).
	Status  string
	Created time.Time
}

// WithStacks starts the simulator with CloudFormation stacks (PutStack).
func WithStacks(stacks ...Stack) Option {
	return func(o *options) { o.stacks = append(o.stacks, stacks...) }
}

// PutStack places (or replaces, by id) a stack in the account and region
// of its ARN.
func (s *Server) PutStack(st Stack) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st.Created.IsZero() {
		st.Created = s.opts.clock().UTC().Truncate(time.Second)
	}
	s.stacks = slices.DeleteFunc(s.stacks, func(o Stack) bool { return o.ID == st.ID })
	s.stacks = append(s.stacks, st)
}

type describeStacksResponse struct {
	XMLName xml.Name `xml:"http://cloudformation.amazonaws.com/doc/2010-05-15/ DescribeStacksResponse"`
	Result  struct {
		Stacks []stackMember `xml:"Stacks>member"`
	} `xml:"DescribeStacksResult"`
	Metadata stsMetadata `xml:"ResponseMetadata"`
}

type stackMember struct {
	StackID      string `xml:"StackId"`
	StackName    string
	CreationTime string
	StackStatus  string
}

// cloudFormation serves AWS CloudFormation (Query protocol): DescribeStacks
// of the caller's account and region. A StackName that is an ARN names the
// stack by id (a deleted stack's too), otherwise by name. A stack that does
// not exist is a 400 ValidationError "Stack with id NAME does not exist",
// as CloudFormation answers it. Without StackName every stack is listed on
// one page (assumption: the simulator's few stacks never need a NextToken;
// AWS documents pages but not their size).
func (s *Server) cloudFormation(req *request) (any, error) {
	if req.op != "DescribeStacks" {
		return nil, apierr.BadRequest("InvalidAction", "Could not find operation %s for version 2010-05-15", req.op)
	}
	if err := validateForm(ServiceCloudFormation, req); err != nil {
		return nil, err
	}
	name, named := req.form["StackName"]
	var out describeStacksResponse
	s.mu.RLock()
	for _, st := range s.stacks {
		if !strings.HasPrefix(st.ID, "arn:aws:cloudformation:"+req.region+":"+req.caller.Account+":stack/") {
			continue
		}
		if named && name != st.ID && name != st.Name {
			continue
		}
		out.Result.Stacks = append(out.Result.Stacks, stackMember{StackID: st.ID, StackName: st.Name,
			CreationTime: st.Created.UTC().Format(time.RFC3339), StackStatus: st.Status})
	}
	s.mu.RUnlock()
	if named && len(out.Result.Stacks) == 0 {
		return nil, apierr.New(http.StatusBadRequest, "ValidationError", "Stack with id %s does not exist", name)
	}
	out.Metadata.RequestID = req.id
	return out, nil
}
