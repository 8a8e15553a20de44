package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The custom resource property names FromProperties takes (see doc.go).
const (
	PropConfiguration           = "Configuration"
	PropDisabled                = "Disabled"
	PropOperation               = "Operation"
	PropRebootOption            = "RebootOption"
	PropRegions                 = "Regions"
	PropControlTowerRegionsOnly = "ControlTowerRegionsOnly"
	PropExcludedAccounts        = "ExcludedAccounts"
	PropExcludedOUs             = "ExcludedOUs"
	PropConfigurationRoleName   = "ConfigurationRoleName"
	PropTaskRoleName            = "TaskRoleName"
	PropDHMCRoleName            = "DHMCRoleName"
	PropWindow1Schedule         = "Window1Schedule"
	PropWindow2Schedule         = "Window2Schedule"
	PropWindow3Schedule         = "Window3Schedule"
)

// PropertyNames are the property names FromProperties takes, besides the
// ones CloudFormation itself sets (ServiceToken, ServiceTimeout).
var PropertyNames = []string{
	PropConfiguration, PropDisabled, PropOperation, PropRebootOption,
	PropRegions, PropControlTowerRegionsOnly, PropExcludedAccounts, PropExcludedOUs,
	PropConfigurationRoleName, PropTaskRoleName, PropDHMCRoleName,
	PropWindow1Schedule, PropWindow2Schedule, PropWindow3Schedule,
}

// PropConfigurationSHA256 stands for the Configuration property where only
// its digest is kept (the Lambda's environment, which holds at most 4 KB):
// the lower-case hex SHA-256 of the property's value (ConfigurationDigest).
const PropConfigurationSHA256 = "ConfigurationSha256"

// ConfigurationDigest is the SHA-256 kept for a Configuration property value.
func ConfigurationDigest(configuration string) string {
	sum := sha256.Sum256([]byte(configuration))
	return hex.EncodeToString(sum[:])
}

// cloudFormationProperties are set by CloudFormation, not by the template.
var cloudFormationProperties = []string{"ServiceToken", "ServiceTimeout"}

// FromProperties builds the configuration from a custom resource's
// properties, where CloudFormation turns every value into a string: the
// Configuration property (a whole configuration as Decode reads it;
// Default() when absent or empty), then each other property present applied
// on top. It reports every bad property and every validation problem at once
// as a *ValidationError; property problems name the property.
func FromProperties(props map[string]any) (Config, error) {
	var p problems
	for _, name := range sortedKeys(props) {
		if !slices.Contains(PropertyNames, name) && !slices.Contains(cloudFormationProperties, name) {
			p.add(name, "", "is not a property orgpatch takes; allowed: %s", strings.Join(PropertyNames, ", "))
		}
	}

	c := Default()
	if raw, ok := props[PropConfiguration]; ok {
		s, ok := propString(&p, PropConfiguration, raw)
		if ok && strings.TrimSpace(s) != "" {
			decoded, err := decode([]byte(s))
			var ve *ValidationError
			switch {
			case errors.As(err, &ve): // unknown fields
				for _, fe := range ve.Problems {
					fe.Field = PropConfiguration + "." + fe.Field
					p = append(p, fe)
				}
				return Config{}, p.err()
			case err != nil:
				p.add(PropConfiguration, "", "%v", err)
				return Config{}, p.err()
			}
			c = decoded
		}
	}

	if b, ok := propBool(&p, props, PropDisabled); ok {
		c.Disabled = b
	}
	if b, ok := propBool(&p, props, PropControlTowerRegionsOnly); ok {
		c.ControlTowerRegionsOnly = b
	}
	if v, ok := propEnum(&p, props, PropOperation, operations); ok {
		for i := range c.Windows {
			if c.Windows[i].Task.Document == DocumentRunPatchBaseline {
				c.Windows[i].Task.Operation = v
			}
		}
	}
	if v, ok := propEnum(&p, props, PropRebootOption, rebootOptions); ok {
		for i := range c.Windows {
			if c.Windows[i].Task.Document == DocumentRunPatchBaseline {
				c.Windows[i].Task.RebootOption = v
			}
		}
	}
	if list, ok := propList(&p, props, PropRegions); ok {
		c.Regions = list
	}
	if list, ok := propList(&p, props, PropExcludedAccounts); ok {
		c.ExcludedAccounts = list
	}
	if list, ok := propList(&p, props, PropExcludedOUs); ok {
		c.ExcludedOUs = list
	}
	for _, role := range []struct {
		name string
		dst  *string
	}{
		{PropConfigurationRoleName, &c.ConfigurationRoleName},
		{PropTaskRoleName, &c.TaskRoleName},
		{PropDHMCRoleName, &c.DHMCRoleName},
	} {
		if raw, ok := props[role.name]; ok {
			if s, ok := propString(&p, role.name, raw); ok && s != "" {
				*role.dst = s
			}
		}
	}
	for i, name := range []string{PropWindow1Schedule, PropWindow2Schedule, PropWindow3Schedule} {
		raw, ok := props[name]
		if !ok {
			continue
		}
		s, ok := propString(&p, name, raw)
		if !ok || s == "" {
			continue
		}
		if i >= len(c.Windows) {
			p.add(name, s, "sets the schedule of window %d, but the configuration has %d windows", i+1, len(c.Windows))
			continue
		}
		c.Windows[i].Schedule = s
	}

	// Validation problems follow the property problems; a bad property is
	// left unapplied, so it causes no validation problem of its own.
	var ve *ValidationError
	if errors.As(c.Validate(), &ve) {
		p = append(p, ve.Problems...)
	}
	if err := p.err(); err != nil {
		return Config{}, err
	}
	return c, nil
}

func propString(p *problems, name string, raw any) (string, bool) {
	s, ok := raw.(string)
	if !ok {
		p.add(name, fmt.Sprint(raw), "is %s; want a string", jsonKind(raw))
	}
	return s, ok
}

func propBool(p *problems, props map[string]any, name string) (bool, bool) {
	raw, ok := props[name]
	if !ok {
		return false, false
	}
	if b, ok := raw.(bool); ok {
		return b, true
	}
	s, ok := propString(p, name, raw)
	if !ok {
		return false, false
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	p.add(name, s, "is not true or false")
	return false, false
}

func propEnum(p *problems, props map[string]any, name string, allowed []string) (string, bool) {
	raw, ok := props[name]
	if !ok {
		return "", false
	}
	s, ok := propString(p, name, raw)
	if !ok || s == "" {
		return "", false
	}
	if !slices.Contains(allowed, s) {
		p.add(name, s, "is not one of %s", strings.Join(allowed, ", "))
		return "", false
	}
	return s, true
}

// propList reads a comma list ("" is the empty list) or a list of strings.
func propList(p *problems, props map[string]any, name string) ([]string, bool) {
	raw, ok := props[name]
	if !ok {
		return nil, false
	}
	var items []string
	switch v := raw.(type) {
	case string:
		if strings.TrimSpace(v) == "" {
			return nil, true
		}
		items = strings.Split(v, ",")
	case []string:
		items = slices.Clone(v)
	case []any:
		for i, item := range v {
			s, ok := item.(string)
			if !ok {
				p.add(fmt.Sprintf("%s[%d]", name, i), fmt.Sprint(item), "is %s; want a string", jsonKind(item))
				return nil, false
			}
			items = append(items, s)
		}
	default:
		p.add(name, fmt.Sprint(raw), "is %s; want a comma-separated string or a list of strings", jsonKind(raw))
		return nil, false
	}
	for i := range items {
		items[i] = strings.TrimSpace(items[i])
	}
	if len(items) == 0 {
		return nil, true
	}
	return items, true
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
