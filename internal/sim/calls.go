package sim

import (
	"encoding/json"
	"sync"
	"time"
)

// Call is one API call the simulator answered.
type Call struct {
	Time      time.Time
	Account   string // the caller's account; empty when it could not be resolved
	Region    string
	Service   string // signing name: ssm, organizations, sts, ec2, controltower
	Operation string
	Write     bool            // the operation changes state
	Params    json.RawMessage // the JSON body, or the Query form as a JSON object; nil with WithoutCallParams
	ErrorCode string          // empty on success
	Throttled bool            // refused by its quota (ErrorCode is the service's throttling code)
}

// callLog is the record of calls, cheap enough for half a million of them.
type callLog struct {
	mu    sync.Mutex
	calls []Call
}

func (l *callLog) add(c Call) {
	l.mu.Lock()
	l.calls = append(l.calls, c)
	l.mu.Unlock()
}

// Calls returns a copy of the calls answered since the start or the last
// ResetCalls, in the order they were answered.
func (s *Server) Calls() []Call {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	out := make([]Call, len(s.log.calls))
	copy(out, s.log.calls)
	return out
}

// ResetCalls forgets the calls logged so far.
func (s *Server) ResetCalls() {
	s.log.mu.Lock()
	s.log.calls = nil
	s.log.mu.Unlock()
}

// CountCalls counts the logged calls for which match is true (nil: all).
func (s *Server) CountCalls(match func(Call) bool) int {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	n := 0
	for _, c := range s.log.calls {
		if match == nil || match(c) {
			n++
		}
	}
	return n
}

// CallCount counts the logged calls of one operation of service ("ssm",
// "CreateMaintenanceWindow"), refused ones included; an empty operation
// counts every call to service.
func (s *Server) CallCount(service, operation string) int {
	return s.CountCalls(func(c Call) bool {
		return c.Service == service && (operation == "" || c.Operation == operation)
	})
}

// WriteCalls counts the logged calls that succeeded and change state.
func (s *Server) WriteCalls() int {
	return s.CountCalls(func(c Call) bool { return c.Write && c.ErrorCode == "" })
}
