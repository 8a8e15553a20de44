package handler

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/trigger"
)

// Stack is what the deployed stack gave the function in its environment:
// the stack's id and the custom resource's properties as the stack computed
// them from its parameters, the static Configuration property replaced by
// its SHA-256. Only someone who can update the stack or the function can
// change either, so a configuration that matches them is the stack's own,
// wherever it was read from. See docs/threat-model.md.
type Stack struct {
	// ID is the stack's id (AWS::StackId).
	ID string
	// Properties are the custom resource's properties, every value a
	// string; config.PropConfigurationSHA256 stands for Configuration.
	Properties map[string]string
}

// errNotTheStacks marks a configuration or request the stack did not make.
var errNotTheStacks = errors.New("not the stack's own")

// ParseStackProperties reads Stack.Properties from their JSON object form
// (the function's environment).
func ParseStackProperties(s string) (map[string]string, error) {
	var props map[string]string
	if err := json.Unmarshal([]byte(s), &props); err != nil {
		return nil, fmt.Errorf("stack properties: want a JSON object of strings: %w", err)
	}
	if props == nil {
		return nil, errors.New("stack properties: null instead of a JSON object")
	}
	return props, nil
}

// StackOf is the Stack whose custom resource sets props (string values), as
// the stack's template computes it for the function's environment; for
// local runs that stand in for the deployed function (the demo).
func StackOf(id string, props map[string]any) *Stack {
	s := &Stack{ID: id, Properties: make(map[string]string, len(props))}
	for name, v := range props {
		str, _ := v.(string)
		if name == config.PropConfiguration {
			name, str = config.PropConfigurationSHA256, config.ConfigurationDigest(str)
		}
		s.Properties[name] = str
	}
	return s
}

// checkRequest refuses a custom resource request that is not for this
// stack. A nil Stack (local runs: the CLI, the demo, tests) checks nothing.
func (s *Stack) checkRequest(stackID string, props map[string]any) error {
	if s == nil {
		return nil
	}
	if stackID != s.ID {
		return fmt.Errorf("custom resource request for stack %s refused: this function serves only %s (%w)", stackID, s.ID, errNotTheStacks)
	}
	return s.checkProperties("custom resource properties", props)
}

// checkEventAccount refuses an EventBridge event that asks for a
// convergence but was recorded in another account than the stack's (the
// management account, where orgpatch's rules live): the rules match only
// the management account's bus, and a direct invocation must not do what
// they would not. A nil Stack (local runs) checks nothing.
func (s *Stack) checkEventAccount(req trigger.Request) error {
	if s == nil || req.Action == trigger.Ignore || req.Source == trigger.SourceCloudFormation {
		return nil
	}
	stackARN, err := arn.Parse(s.ID)
	if err != nil {
		return fmt.Errorf("the stack id %s is not an ARN, so no event's account can be checked: %w", s.ID, err)
	}
	if req.Account != stackARN.AccountID {
		return fmt.Errorf("%s event recorded in account %s refused: orgpatch acts only on events of the management account %s (%w)",
			req.Source, req.Account, stackARN.AccountID, errNotTheStacks)
	}
	return nil
}

// checkProperties says whether props (custom resource properties without
// ServiceToken and ServiceTimeout) are exactly the ones the stack set; the
// error names every property that differs, never a whole value. A nil Stack
// checks nothing.
func (s *Stack) checkProperties(what string, props map[string]any) error {
	if s == nil {
		return nil
	}
	got := make(map[string]string, len(props))
	var bad []string
	for name, v := range props {
		str, ok := v.(string)
		if !ok {
			bad = append(bad, name+" (not a string)")
			continue
		}
		if name == config.PropConfiguration {
			name, str = config.PropConfigurationSHA256, config.ConfigurationDigest(str)
		}
		got[name] = str
	}
	names := slices.Concat(slices.Collect(maps.Keys(got)), slices.Collect(maps.Keys(s.Properties)))
	slices.Sort(names)
	for _, name := range slices.Compact(names) {
		want, inStack := s.Properties[name]
		have, inProps := got[name]
		switch {
		case !inStack:
			bad = append(bad, shown(name)+" (the stack sets none)")
		case !inProps:
			bad = append(bad, shown(name)+" (missing)")
		case want != have:
			bad = append(bad, shown(name)+" (differs)")
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return fmt.Errorf("%s are %w: %s; only the stack's parameters and configuration file can change what accounts receive", what, errNotTheStacks, strings.Join(bad, ", "))
	}
	return nil
}

// shown names a property as the template writes it.
func shown(name string) string {
	if name == config.PropConfigurationSHA256 {
		return config.PropConfiguration
	}
	return name
}
