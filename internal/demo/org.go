package demo

import (
	_ "embed"
	"fmt"

	"github.com/orgpatch/orgpatch/internal/sim"
)

//go:embed org.json
var orgJSON []byte

// Org returns the demo organization: twelve accounts in five OUs under a
// Control Tower landing zone governing us-east-1, eu-west-1 and af-south-1
// (an opt-in region two accounts have not enabled), one account whose
// configuration role has not been deployed and one suspended account.
func Org() (*sim.Org, error) {
	org, err := sim.ParseOrg(orgJSON)
	if err != nil {
		return nil, fmt.Errorf("demo organization: %w", err)
	}
	return org, nil
}
