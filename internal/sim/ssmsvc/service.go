package ssmsvc

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/orgpatch/orgpatch/internal/sim/apierr"
)

// Context is who calls and where: the simulator's core resolves it from the
// request's credentials and SigV4 scope before calling Handle.
type Context struct {
	Account   string
	Region    string
	Partition string // "aws" unless the region says otherwise
	Now       time.Time
}

// Service is the simulated Systems Manager of every account and region.
// It is safe for concurrent use.
type Service struct {
	mu sync.Mutex
}

// New returns an empty Service.
func New() *Service { return &Service{} }

// Handle runs one JSON 1.1 operation (the part of X-Amz-Target after the
// dot) on the request body. The result is marshalled as the response body;
// an error is an *apierr.Error (anything else is answered as
// InternalServerError by the core).
func (s *Service) Handle(ctx Context, operation string, body json.RawMessage) (any, error) {
	return nil, apierr.BadRequest("UnknownOperationException", "operation %s is not supported", operation)
}

// IsWrite reports whether operation changes state; the core counts writes
// for its fail-after-N-writes fault and the call log.
func IsWrite(operation string) bool { return false }
