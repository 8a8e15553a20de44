package ssmsvc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"go/token"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/sim/apierr"
)

// Test identities: the access key id is the account, the SigV4 scope the
// region, as the simulator's core resolves them.
const (
	account = "111111111111"
	region  = "eu-west-1"
)

// testNow is the clock of every test request.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// testServer serves one Service over JSON 1.1, as the core does.
type testServer struct {
	svc *Service
	url string
}

func newTestServer(t *testing.T, opts ...Option) *testServer {
	t.Helper()
	svc := New(opts...)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		acct, reg := callerOf(r.Header.Get("Authorization"))
		op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AmazonSSM.")
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if !ok || acct == "" {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"__type": "MissingAuthenticationToken", "message": "no target or credentials"})
			return
		}
		res, err := svc.Handle(Context{Account: acct, Region: reg, Partition: "aws", Now: testNow}, op, body)
		if err != nil {
			e := apierr.As(err)
			w.WriteHeader(e.HTTPStatus())
			json.NewEncoder(w).Encode(map[string]string{"__type": e.Code, "message": e.Message})
			return
		}
		json.NewEncoder(w).Encode(res)
	}))
	t.Cleanup(hs.Close)
	return &testServer{svc: svc, url: hs.URL}
}

// callerOf reads account (the access key id) and region from a SigV4
// Authorization header.
func callerOf(h string) (acct, reg string) {
	_, cred, ok := strings.Cut(h, "Credential=")
	if !ok {
		return "", ""
	}
	cred, _, _ = strings.Cut(cred, ",")
	f := strings.Split(cred, "/")
	if len(f) != 5 {
		return "", ""
	}
	return f[0], f[2]
}

// client is an SDK client acting as acct in reg against the server.
func (ts *testServer) client(acct, reg string) *ssm.Client {
	return ssm.New(ssm.Options{
		Region:           reg,
		BaseEndpoint:     aws.String(ts.url),
		Credentials:      credentials.NewStaticCredentialsProvider(acct, "secret", ""),
		RetryMaxAttempts: 1,
	})
}

// raw sends a JSON body as acct in reg, bypassing the SDK's client-side
// checks, and returns the HTTP status, the error code ("" on success) and
// the decoded answer.
func (ts *testServer) raw(t *testing.T, op, body string) (int, string, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.url, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "AmazonSSM."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+account+"/20260301/"+region+"/ssm/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s: decode answer: %v", op, err)
	}
	code, _ := out["__type"].(string)
	return resp.StatusCode, code, out
}

// errorCode is the AWS error code of an SDK error, "" for nil.
func errorCode(err error) string {
	if err == nil {
		return ""
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return "not an API error: " + err.Error()
}

var bg = context.Background()

var windowIDPattern = regexpMust(`^mw-[0-9a-f]{17}$`)

func regexpMust(p string) *regexp.Regexp { return regexp.MustCompile(p) }

// sdkOpts compares SDK values by their exported fields, without the
// response metadata.
var sdkOpts = cmp.FilterPath(func(p cmp.Path) bool {
	sf, ok := p.Last().(cmp.StructField)
	return ok && (sf.Name() == "ResultMetadata" || !token.IsExported(sf.Name()))
}, cmp.Ignore())

var (
	uuidPattern   = regexpMust(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	sha256Pattern = regexpMust(`^[0-9a-f]{64}$`)
)
