package sfnengine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/orgpatch/orgpatch/internal/handler"
)

// lambdaService answers Lambda's Invoke REST API on loopback
// (POST /2015-03-31/functions/{FunctionName}/invocations), the endpoint
// the engine's lambda-endpoint supplement points the interpreter at: each
// function name is one scenario's function, whose invocations the real
// handler answers, as the Lambda runtime would, within a worker's 15
// minutes.
type lambdaService struct {
	srv *httptest.Server
	mu  sync.Mutex
	fns map[string]*function
}

// function is one deployed orgpatch function.
type function struct {
	// h is the handler of the function's current code and environment: a
	// stack Update replaces it (CloudFormation updates the function's
	// environment with the stack's new properties).
	h atomic.Pointer[handler.Handler]
	// fault, when set, decides an invocation's answer before the handler
	// sees it: Lambda throttling, or a worker that crashes.
	fault atomic.Pointer[func(inv invocation) *lambdaFault]

	mu  sync.Mutex
	got []invocation
}

// invocation is one Invoke the function received, and what it answered.
type invocation struct {
	Step    string // discover, work, summarize, abort
	Payload json.RawMessage
	// Status is Lambda's HTTP status; FunctionError is set for a function
	// error (the handler's, or a crash).
	Status        int
	FunctionError string
	Response      json.RawMessage
	At            time.Time
}

// lambdaFault is an answer Lambda gives instead of the function's.
type lambdaFault struct {
	Status        int    // HTTP status, with ErrorType for a service error
	ErrorType     string // x-amzn-ErrorType: TooManyRequestsException, ...
	FunctionError string // "Unhandled": the function crashed
	Body          string
}

// throttled is Lambda's answer when the function's concurrency is spent
// (Invoke: TooManyRequestsException, HTTP 429).
func throttled() *lambdaFault {
	return &lambdaFault{Status: http.StatusTooManyRequests, ErrorType: "TooManyRequestsException",
		Body: `{"Type":"User","message":"Rate Exceeded.","Reason":"ReservedFunctionConcurrentInvocationLimitExceeded"}`}
}

// crashed is Lambda's answer when the runtime dies under the function (out
// of memory, killed): a function error the function never returned.
func crashed() *lambdaFault {
	return &lambdaFault{Status: http.StatusOK, FunctionError: "Unhandled",
		Body: `{"errorType":"Runtime.ExitError","errorMessage":"RequestId: 6f1d Error: Runtime exited with error: signal: killed"}`}
}

func newLambdaService(t *testing.T) *lambdaService {
	l := &lambdaService{fns: map[string]*function{}}
	l.srv = httptest.NewServer(http.HandlerFunc(l.invoke))
	t.Cleanup(l.srv.Close)
	return l
}

// deploy adds the function name, answered by h.
func (l *lambdaService) deploy(name string, h *handler.Handler) *function {
	f := &function{}
	f.h.Store(h)
	l.mu.Lock()
	l.fns[name] = f
	l.mu.Unlock()
	return f
}

const invokePath = "/2015-03-31/functions/"

func (l *lambdaService) invoke(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.EscapedPath(), invokePath), "/invocations")
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, invokePath) || !ok {
		lambdaError(w, http.StatusNotFound, "ResourceNotFoundException", "no such operation: "+r.Method+" "+r.URL.Path)
		return
	}
	name, _ = url.PathUnescape(name)
	// A function ARN names the function by its last part.
	name = name[strings.LastIndex(name, ":")+1:]
	l.mu.Lock()
	f := l.fns[name]
	l.mu.Unlock()
	if f == nil {
		lambdaError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+name)
		return
	}
	if it := r.Header.Get("X-Amz-Invocation-Type"); it != "" && it != "RequestResponse" {
		lambdaError(w, http.StatusBadRequest, "InvalidParameterValueException", "the state machine invokes RequestResponse, not "+it)
		return
	}
	payload, err := io.ReadAll(r.Body)
	if err != nil {
		lambdaError(w, http.StatusBadRequest, "InvalidRequestContentException", err.Error())
		return
	}
	inv := invocation{Step: stepOf(payload), Payload: payload, At: time.Now()}
	if fault := f.fault.Load(); fault != nil {
		if a := (*fault)(inv); a != nil {
			inv.Status, inv.FunctionError, inv.Response = a.Status, a.FunctionError, json.RawMessage(a.Body)
			f.record(inv)
			if a.ErrorType != "" {
				w.Header().Set("x-amzn-ErrorType", a.ErrorType)
			}
			if a.FunctionError != "" {
				w.Header().Set("X-Amz-Function-Error", a.FunctionError)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(a.Status)
			io.WriteString(w, a.Body)
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Minute)
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: fmt.Sprintf("req-%d", time.Now().UnixNano())})
	out, herr := f.h.Load().Invoke(ctx, payload)
	inv.Status = http.StatusOK
	var body []byte
	if herr != nil {
		// As the Go runtime reports a returned error.
		inv.FunctionError = "Unhandled"
		body, _ = json.Marshal(map[string]string{"errorMessage": herr.Error(), "errorType": errorType(herr)})
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
	} else if body, err = json.Marshal(out); err != nil {
		inv.FunctionError = "Unhandled"
		body, _ = json.Marshal(map[string]string{"errorMessage": err.Error(), "errorType": errorType(err)})
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
	}
	inv.Response = body
	f.record(inv)
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

// errorType names an error's type as aws-lambda-go does: the type's name,
// without its pointer.
func errorType(err error) string {
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		return t.Elem().Name()
	}
	return t.Name()
}

func lambdaError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("x-amzn-ErrorType", code)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": msg})
}

// stepOf is the step an invocation's payload asks for: a batch of the map
// has no step field.
func stepOf(payload []byte) string {
	var p struct {
		Step  string          `json:"step"`
		Items json.RawMessage `json:"Items"`
	}
	_ = json.Unmarshal(payload, &p)
	if p.Step == "" && p.Items != nil {
		return "work"
	}
	return p.Step
}

func (f *function) record(inv invocation) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, inv)
}

// invocations are those received so far, of step (every step when "").
func (f *function) invocations(step string) []invocation {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []invocation
	for _, inv := range f.got {
		if step == "" || inv.Step == step {
			out = append(out, inv)
		}
	}
	return out
}

// setFault makes fault decide every invocation from now on (nil: none).
func (f *function) setFault(fault func(inv invocation) *lambdaFault) {
	if fault == nil {
		f.fault.Store(nil)
		return
	}
	f.fault.Store(&fault)
}
