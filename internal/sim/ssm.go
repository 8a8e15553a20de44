package sim

import "github.com/orgpatch/orgpatch/internal/sim/ssmsvc"

// SSM is the simulated Systems Manager behind the server, for tests that
// assert on its state (Windows, ServiceSetting, Parameter) or change the
// AWS-owned world (PublishDocumentVersion).
func (s *Server) SSM() *ssmsvc.Service { return s.ssm }
