package sim

// SetS3Unlocked runs f inside every conditional PutObject's window between
// its check and its commit, so a test can land a write there.
func (s *Server) SetS3Unlocked(f func()) {
	s.s3state.mu.Lock()
	defer s.s3state.mu.Unlock()
	s.s3state.unlocked = f
}
