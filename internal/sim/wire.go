package sim

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/smithy-go/encoding/cbor"

	"github.com/orgpatch/orgpatch/internal/sim/apierr"
)

// XML namespaces of the Query services' answers.
const (
	stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"
	ec2Namespace = "http://ec2.amazonaws.com/doc/2016-11-15/"
)

// JSON 1.1 target prefixes, by service.
var jsonTargets = map[string]string{
	ServiceSSM:           "AmazonSSM.",
	ServiceOrganizations: "AWSOrganizationsV20161128.",
	ServiceTagging:       "ResourceGroupsTaggingAPI_20170126.",
	ServiceEvents:        "AWSEvents.",
}

// REST-JSON routes of Control Tower and Security Hub: POST path -> operation.
var restRoutes = map[string]string{
	"/list-landingzones": "ListLandingZones",
	"/get-landingzone":   "GetLandingZone",
	"/findings/import":   "BatchImportFindings",
	"/findings":          "GetFindings",
}

// scope is what the SigV4 Authorization header says about a request.
type scope struct {
	accessKey, region, service string
}

// parseAuthorization reads the credential scope of a SigV4 Authorization
// header ("AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request,
// SignedHeaders=..., Signature=..."). Signatures are not verified.
func parseAuthorization(h string) (scope, error) {
	missing := apierr.New(http.StatusForbidden, "MissingAuthenticationToken", "Request is missing Authentication Token")
	alg, rest, ok := strings.Cut(h, " ")
	if !ok || alg != "AWS4-HMAC-SHA256" {
		return scope{}, missing
	}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		if k != "Credential" {
			continue
		}
		f := strings.Split(v, "/")
		if len(f) != 5 || f[0] == "" || f[2] == "" || f[3] == "" || f[4] != "aws4_request" {
			return scope{}, apierr.New(http.StatusBadRequest, "IncompleteSignature", "Credential %q must be ACCESS_KEY/DATE/REGION/SERVICE/aws4_request", v)
		}
		return scope{accessKey: f[0], region: f[2], service: f[3]}, nil
	}
	return scope{}, missing
}

// guessProtocol picks the protocol of a request whose signature names no
// service we serve, so that even that error is answered in a shape the
// client understands.
func guessProtocol(r *http.Request, body []byte) protocol {
	if r.Header.Get("Smithy-Protocol") == "rpc-v2-cbor" {
		return protoCBOR
	}
	if r.Header.Get("X-Amz-Target") != "" {
		return protoJSON
	}
	if _, ok := restRoutes[r.URL.Path]; ok {
		return protoREST
	}
	if v, err := url.ParseQuery(string(body)); err == nil && v.Get("Version") == "2016-11-15" {
		return protoEC2
	}
	return protoQuery
}

// parseOperation names the operation a request calls and, for the Query
// protocols, decodes its form.
func (s *Server) parseOperation(r *http.Request, req *request) error {
	switch req.proto {
	case protoJSON:
		target := r.Header.Get("X-Amz-Target")
		prefix, op, ok := strings.Cut(target, ".")
		req.op = op
		want, known := jsonTargets[req.service]
		if !ok || op == "" || (known && prefix+"." != want) {
			return apierr.BadRequest("UnknownOperationException", "X-Amz-Target %q names no operation of %s", target, req.service)
		}
	case protoQuery, protoEC2:
		values, err := url.ParseQuery(string(req.body))
		if err != nil {
			return apierr.BadRequest("MalformedQueryString", "the request body is not a form: %v", err)
		}
		for k, v := range r.URL.Query() {
			values[k] = append(values[k], v...)
		}
		req.op = values.Get("Action")
		req.form = make(map[string]string, len(values))
		for k, v := range values {
			if k != "Action" && k != "Version" && len(v) > 0 {
				req.form[k] = v[0]
			}
		}
		if req.op == "" {
			return apierr.BadRequest("MissingAction", "Action is required")
		}
	case protoRESTXML:
		op, _, _, err := s3Op(r)
		req.op = op
		return err
	case protoCBOR:
		op, ok := strings.CutPrefix(r.URL.Path, cloudWatchPath)
		req.op = op
		if !ok || op == "" || r.Method != http.MethodPost || r.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" {
			return apierr.New(http.StatusNotFound, "UnknownOperationException", "%s %s is not an RPC v2 CBOR operation of %s", r.Method, r.URL.Path, req.service)
		}
	case protoREST:
		op, ok := restRoutes[r.URL.Path]
		if !ok || r.Method != http.MethodPost {
			return apierr.New(http.StatusNotFound, "UnknownOperationException", "%s %s is not an operation of %s", r.Method, r.URL.Path, req.service)
		}
		req.op = op
	}
	return nil
}

// writeResult writes a successful answer.
func (s *Server) writeResult(w http.ResponseWriter, req *request, result any) error {
	var body []byte
	var err error
	switch req.proto {
	case protoJSON, protoREST:
		if result == nil {
			body = []byte("{}")
		} else {
			body, err = json.Marshal(result)
		}
		if req.proto == protoJSON {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		} else {
			w.Header().Set("Content-Type", "application/json")
		}
	case protoQuery, protoEC2:
		body, err = xml.Marshal(result)
		body = append([]byte(xml.Header), body...)
		w.Header().Set("Content-Type", "text/xml")
	case protoCBOR:
		body = cbor.Encode(toCBOR(result))
		w.Header().Set("Content-Type", "application/cbor")
		w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	case protoRESTXML:
		if raw, ok := result.(*s3Response); ok {
			for k, v := range raw.header {
				w.Header()[k] = v
			}
			w.WriteHeader(raw.status)
			if req.http.Method == http.MethodHead {
				return nil
			}
			_, err = w.Write(raw.body)
			return err
		}
		body, err = xml.Marshal(result)
		body = append([]byte(xml.Header), body...)
		w.Header().Set("Content-Type", "application/xml")
	}
	if err != nil {
		s.writeError(w, req, internalError(req, "encoding the answer: %v", err))
		return err
	}
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(body)
	return err
}

// reasonError is an error whose answer carries a Reason member, as
// Organizations' InvalidInputException and ConstraintViolationException do.
type reasonError struct {
	err    *apierr.Error
	Reason string
}

func (e *reasonError) Error() string { return e.err.Error() }
func (e *reasonError) Unwrap() error { return e.err }

// writeError writes err in the protocol's error shape.
func (s *Server) writeError(w http.ResponseWriter, req *request, err error) {
	e := apierr.As(err)
	var body []byte
	switch req.proto {
	case protoJSON, protoREST:
		m := map[string]any{"message": e.Message}
		if req.proto == protoJSON {
			m["__type"] = e.Code
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		} else {
			w.Header().Set("Content-Type", "application/json")
		}
		w.Header().Set("X-Amzn-ErrorType", e.Code)
		var re *reasonError
		if errors.As(err, &re) {
			m["Reason"] = re.Reason
		}
		body, _ = json.Marshal(m)
	case protoQuery:
		fault := "Sender"
		if e.HTTPStatus() >= 500 {
			fault = "Receiver"
		}
		body, _ = xml.Marshal(queryErrorResponse{
			Error:     queryError{Type: fault, Code: e.Code, Message: e.Message},
			RequestID: req.id,
		})
		body = append([]byte(xml.Header), body...)
		w.Header().Set("Content-Type", "text/xml")
	case protoRESTXML:
		body, _ = xml.Marshal(s3Error{Code: e.Code, Message: e.Message, RequestID: req.id})
		body = append([]byte(xml.Header), body...)
		w.Header().Set("Content-Type", "application/xml")
		if req.http != nil && req.http.Method == http.MethodHead {
			body = nil // HEAD answers carry no body; the status says it
		}
	case protoCBOR:
		var queryError string
		body, queryError = cborError(e)
		w.Header().Set("Content-Type", "application/cbor")
		w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
		w.Header().Set("X-Amzn-Query-Error", queryError)
	case protoEC2:
		body, _ = xml.Marshal(ec2ErrorResponse{
			Errors:    []ec2Error{{Code: e.Code, Message: e.Message}},
			RequestID: req.id,
		})
		body = append([]byte(xml.Header), body...)
		w.Header().Set("Content-Type", "text/xml")
	}
	w.WriteHeader(e.HTTPStatus())
	_, _ = w.Write(body)
}

type queryErrorResponse struct {
	XMLName   xml.Name   `xml:"https://sts.amazonaws.com/doc/2011-06-15/ ErrorResponse"`
	Error     queryError `xml:"Error"`
	RequestID string     `xml:"RequestId"`
}

type queryError struct {
	Type    string `xml:"Type"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

type ec2ErrorResponse struct {
	XMLName   xml.Name   `xml:"Response"`
	Errors    []ec2Error `xml:"Errors>Error"`
	RequestID string     `xml:"RequestID"`
}

type ec2Error struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// decodeJSON decodes a JSON request body into v; an empty body is {}.
func decodeJSON(body []byte, v any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return apierr.BadRequest("SerializationException", "the request body does not decode: %v", err)
	}
	return nil
}
