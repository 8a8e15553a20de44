package sim

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/orgpatch/orgpatch/internal/sim/apierr"
	"github.com/orgpatch/orgpatch/internal/sim/smodel"
)

// The simulated SNS (AWS Query protocol): CreateTopic, ListTopics and
// Publish, as the SNS API reference documents them. Topic names are 1 to
// 256 letters, digits, hyphens and underscores (".fifo" topics are not
// simulated); CreateTopic of an existing name answers its ARN again.
// ListTopics pages by 100, as AWS does. Publish takes a TopicArn (TargetArn
// and PhoneNumber, the mobile and SMS endpoints, are not simulated) naming
// a topic of the caller's account in the request's region: NotFound (404)
// for one that does not exist, AuthorizationError (403) for another
// account's (the simulator has no topic policies). A Message is required,
// at most 256 KiB of UTF-8 (262,144 bytes); a Subject is ASCII, begins
// with a letter, digit or punctuation mark, has no line breaks or control
// characters and is under 100 characters; MessageStructure "json" needs a
// JSON object with a "default" key. Every failure is InvalidParameter
// with AWS's "Invalid parameter: ..." message, except where named.
//
// SNS has no API to read messages back (they are delivered to the
// topic's subscribers, which the simulator does not keep); Server.Messages
// returns what a topic was sent.

// ServiceSNS is SNS's signing name (and the model's name).
const ServiceSNS = "sns"

// MaxSNSMessageBytes is the largest Message Publish accepts.
const MaxSNSMessageBytes = 256 * 1024

const (
	snsNamespace = "http://sns.amazonaws.com/doc/2010-03-31/"
	snsPageSize  = 100
)

// SNSMessage is a message published to a topic.
type SNSMessage struct {
	ID               string
	TopicArn         string
	Subject          string
	Message          string
	MessageStructure string
	Time             time.Time
}

type snsStore struct {
	mu       sync.Mutex
	topics   map[string]bool // topic ARN
	messages map[string][]SNSMessage
}

// Messages returns the messages published to topicArn, in order.
func (s *Server) Messages(topicArn string) []SNSMessage {
	s.snsState.mu.Lock()
	defer s.snsState.mu.Unlock()
	return slices.Clone(s.snsState.messages[topicArn])
}

var (
	topicNameRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)
	topicARNRe  = regexp.MustCompile(`^arn:aws:sns:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,256})$`)
	// subjectRe: printable ASCII starting with a letter, digit or
	// punctuation mark (not a space), under 100 characters.
	subjectRe = regexp.MustCompile(`^[!-~][ -~]{0,98}$`)
)

type snsMetadata struct {
	RequestID string `xml:"RequestId"`
}

type createTopicResponse struct {
	XMLName  xml.Name    `xml:"http://sns.amazonaws.com/doc/2010-03-31/ CreateTopicResponse"`
	TopicArn string      `xml:"CreateTopicResult>TopicArn"`
	Metadata snsMetadata `xml:"ResponseMetadata"`
}

type listTopicsResponse struct {
	XMLName xml.Name `xml:"http://sns.amazonaws.com/doc/2010-03-31/ ListTopicsResponse"`
	Result  struct {
		Topics    []topicMember `xml:"Topics>member"`
		NextToken string        `xml:"NextToken,omitempty"`
	} `xml:"ListTopicsResult"`
	Metadata snsMetadata `xml:"ResponseMetadata"`
}

type topicMember struct {
	TopicArn string `xml:"TopicArn"`
}

type publishResponse struct {
	XMLName   xml.Name    `xml:"http://sns.amazonaws.com/doc/2010-03-31/ PublishResponse"`
	MessageID string      `xml:"PublishResult>MessageId"`
	Metadata  snsMetadata `xml:"ResponseMetadata"`
}

func snsInvalid(format string, args ...any) error {
	return apierr.BadRequest("InvalidParameter", "Invalid parameter: "+format, args...)
}

// sns serves SNS.
func (s *Server) sns(req *request) (any, error) {
	in := make(map[string]any, len(req.form))
	for k, v := range req.form {
		in[k] = v
	}
	if vs := smodel.ValidateValue(ServiceSNS, req.op, in); len(vs) > 0 {
		return nil, apierr.BadRequest("ValidationError", "%s", smodel.Message(vs))
	}
	st := &s.snsState
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.topics == nil {
		st.topics, st.messages = map[string]bool{}, map[string][]SNSMessage{}
	}
	meta := snsMetadata{RequestID: req.id}
	switch req.op {
	case "CreateTopic":
		name := req.form["Name"]
		if !topicNameRe.MatchString(name) {
			return nil, snsInvalid("Topic Name")
		}
		arn := fmt.Sprintf("arn:aws:sns:%s:%s:%s", req.region, req.caller.Account, name)
		st.topics[arn] = true
		return createTopicResponse{TopicArn: arn, Metadata: meta}, nil
	case "ListTopics":
		prefix := fmt.Sprintf("arn:aws:sns:%s:%s:", req.region, req.caller.Account)
		var arns []string
		for arn := range st.topics {
			if strings.HasPrefix(arn, prefix) {
				arns = append(arns, arn)
			}
		}
		slices.Sort(arns)
		after := ""
		if tok := req.form["NextToken"]; tok != "" {
			raw, err := base64.RawURLEncoding.DecodeString(tok)
			if err != nil || !strings.HasPrefix(string(raw), prefix) {
				return nil, snsInvalid("NextToken")
			}
			after = string(raw)
		}
		i, _ := slices.BinarySearch(arns, after)
		if after != "" && i < len(arns) && arns[i] == after {
			i++
		}
		out := listTopicsResponse{Metadata: meta}
		page := arns[i:min(i+snsPageSize, len(arns))]
		for _, a := range page {
			out.Result.Topics = append(out.Result.Topics, topicMember{TopicArn: a})
		}
		if i+snsPageSize < len(arns) {
			out.Result.NextToken = base64.RawURLEncoding.EncodeToString([]byte(page[len(page)-1]))
		}
		return out, nil
	case "Publish":
		return s.publish(req, meta)
	}
	return nil, apierr.BadRequest("InvalidAction", "Could not find operation %s for version 2010-03-31", req.op)
}

// publish serves Publish; s.snsState.mu is held.
func (s *Server) publish(req *request, meta snsMetadata) (any, error) {
	f := req.form
	arn := f["TopicArn"]
	switch {
	case f["TargetArn"] != "" || f["PhoneNumber"] != "":
		return nil, snsInvalid("TargetArn and PhoneNumber are not simulated; publish to a TopicArn")
	case arn == "":
		return nil, snsInvalid("TopicArn or TargetArn Reason: no value for required parameter")
	}
	m := topicARNRe.FindStringSubmatch(arn)
	if m == nil {
		return nil, snsInvalid("TopicArn")
	}
	if m[1] != req.region {
		return nil, snsInvalid("TopicArn")
	}
	msg := f["Message"] // required: the model check proved it present
	switch {
	case msg == "":
		return nil, snsInvalid("Empty message")
	case len(msg) > MaxSNSMessageBytes:
		return nil, snsInvalid("Message too long")
	case !utf8.ValidString(msg):
		return nil, snsInvalid("Message must be valid UTF-8")
	}
	if subj, ok := f["Subject"]; ok && !subjectRe.MatchString(subj) {
		return nil, snsInvalid("Subject")
	}
	switch f["MessageStructure"] {
	case "":
	case "json":
		var bodies map[string]json.RawMessage
		if err := json.Unmarshal([]byte(msg), &bodies); err != nil {
			return nil, snsInvalid("Message Structure - JSON message body failed to parse")
		}
		if _, ok := bodies["default"]; !ok {
			return nil, snsInvalid("Message Structure - No default entry in JSON message body")
		}
	default:
		return nil, snsInvalid("MessageStructure")
	}
	if !s.snsState.topics[arn] {
		return nil, apierr.New(http.StatusNotFound, "NotFound", "Topic does not exist")
	}
	if m[2] != req.caller.Account {
		return nil, apierr.New(http.StatusForbidden, "AuthorizationError", "User: %s is not authorized to perform: SNS:Publish on resource: %s", req.caller.ARN, arn)
	}
	id := newUUID()
	s.snsState.messages[arn] = append(s.snsState.messages[arn], SNSMessage{
		ID: id, TopicArn: arn, Subject: f["Subject"], Message: msg, MessageStructure: f["MessageStructure"], Time: req.now,
	})
	return publishResponse{MessageID: id, Metadata: meta}, nil
}
