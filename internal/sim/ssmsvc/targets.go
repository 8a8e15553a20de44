package ssmsvc

import (
	"slices"
	"strings"

	"github.com/orgpatch/orgpatch/internal/sim/apierr"
)

type registerTargetInput struct {
	WindowId         string   `json:"WindowId"`
	ResourceType     string   `json:"ResourceType"`
	Targets          []Target `json:"Targets"`
	OwnerInformation *string  `json:"OwnerInformation,omitempty"`
	Name             *string  `json:"Name,omitempty"`
	Description      *string  `json:"Description,omitempty"`
	ClientToken      string   `json:"ClientToken,omitempty"`
}

type windowTargetIDOutput struct {
	WindowTargetId string `json:"WindowTargetId"`
}

func (s *Service) registerTarget(ctx Context, in *registerTargetInput) (any, error) {
	if err := checkTargets(in.ResourceType, in.Targets); err != nil {
		return nil, err
	}
	id, err := s.register(ctx, "RegisterTargetWithMaintenanceWindow", in.ClientToken, in, in.WindowId, func(w *Window) (string, error) {
		if len(w.Targets) >= s.quotas.TargetsPerWindow {
			return "", apierr.BadRequest("ResourceLimitExceededException",
				"Maximum number of targets (%d) for maintenance window %s reached", s.quotas.TargetsPerWindow, w.ID)
		}
		t := WindowTarget{ID: s.newUUID(), ResourceType: in.ResourceType, Targets: cloneTargets(in.Targets),
			OwnerInformation: deref(in.OwnerInformation), Name: deref(in.Name), Description: deref(in.Description)}
		w.Targets = append(w.Targets, t)
		return t.ID, nil
	})
	if err != nil {
		return nil, err
	}
	return windowTargetIDOutput{WindowTargetId: id}, nil
}

// checkTargets applies the documented target keys: a window target of
// resource type INSTANCE selects by InstanceIds (any case, the API
// Reference writes both), tag:<name> or tag-key; one
// of type RESOURCE_GROUP by resource-groups:Name (and optionally
// resource-groups:ResourceTypeFilters). Every target needs values.
func checkTargets(resourceType string, ts []Target) error {
	if len(ts) == 0 {
		return validation("Targets must contain at least one target.")
	}
	for _, t := range ts {
		if len(t.Values) == 0 {
			return validation("Target %s has no Values.", t.Key)
		}
		switch resourceType {
		case "INSTANCE":
			if !strings.EqualFold(t.Key, "InstanceIds") && t.Key != "tag-key" && !(len(t.Key) > 4 && t.Key[:4] == "tag:") {
				return validation("Target key %s is not valid for ResourceType INSTANCE; use InstanceIds, tag:<tag name> or tag-key.", t.Key)
			}
		case "RESOURCE_GROUP":
			if t.Key != "resource-groups:Name" && t.Key != "resource-groups:ResourceTypeFilters" {
				return validation("Target key %s is not valid for ResourceType RESOURCE_GROUP; use resource-groups:Name or resource-groups:ResourceTypeFilters.", t.Key)
			}
		}
	}
	return nil
}

// targetIndex returns the index of target id in w; a target w does not have
// is DoesNotExistException.
func targetIndex(w *Window, id string) (int, error) {
	i := slices.IndexFunc(w.Targets, func(t WindowTarget) bool { return t.ID == id })
	if i < 0 {
		return 0, apierr.BadRequest("DoesNotExistException", "Maintenance window target %s does not exist in maintenance window %s", id, w.ID)
	}
	return i, nil
}

type updateTargetInput struct {
	WindowId         string   `json:"WindowId"`
	WindowTargetId   string   `json:"WindowTargetId"`
	Targets          []Target `json:"Targets"`
	OwnerInformation *string  `json:"OwnerInformation"`
	Name             *string  `json:"Name"`
	Description      *string  `json:"Description"`
	Replace          bool     `json:"Replace"`
}

type targetOutput struct {
	WindowId         string   `json:"WindowId"`
	WindowTargetId   string   `json:"WindowTargetId"`
	ResourceType     string   `json:"ResourceType,omitempty"`
	Targets          []Target `json:"Targets,omitempty"`
	OwnerInformation string   `json:"OwnerInformation,omitempty"`
	Name             string   `json:"Name,omitempty"`
	Description      string   `json:"Description,omitempty"`
}

// updateTarget changes the given fields; with Replace, Targets is required
// and OwnerInformation, Name and Description are cleared unless given.
func (s *Service) updateTarget(ctx Context, in *updateTargetInput) (any, error) {
	if in.Replace {
		if err := requireForReplace(map[string]bool{"targets": in.Targets != nil}); err != nil {
			return nil, err
		}
	}
	return s.inWindow(ctx, in.WindowId, func(w *Window) (any, error) {
		i, err := targetIndex(w, in.WindowTargetId)
		if err != nil {
			return nil, err
		}
		t := w.Targets[i]
		if in.Replace {
			t.OwnerInformation, t.Name, t.Description = "", "", ""
		}
		if in.Targets != nil {
			if err := checkTargets(t.ResourceType, in.Targets); err != nil {
				return nil, err
			}
			t.Targets = cloneTargets(in.Targets)
		}
		set(&t.OwnerInformation, in.OwnerInformation)
		set(&t.Name, in.Name)
		set(&t.Description, in.Description)
		w.Targets[i] = t
		out := targetToOutput(w.ID, t)
		out.ResourceType = ""
		return out, nil
	})
}

func targetToOutput(windowID string, t WindowTarget) targetOutput {
	return targetOutput{WindowId: windowID, WindowTargetId: t.ID, ResourceType: t.ResourceType, Targets: cloneTargets(t.Targets),
		OwnerInformation: t.OwnerInformation, Name: t.Name, Description: t.Description}
}

type deregisterTargetInput struct {
	WindowId       string `json:"WindowId"`
	WindowTargetId string `json:"WindowTargetId"`
	Safe           bool   `json:"Safe"`
}

type deregisterTargetOutput struct {
	WindowId       string `json:"WindowId"`
	WindowTargetId string `json:"WindowTargetId"`
}

// deregisterTarget removes a window target. With Safe, a target that a task
// of the window still references is refused (TargetInUseException);
// without it the target goes and the tasks keep their now dangling
// reference, as in AWS.
func (s *Service) deregisterTarget(ctx Context, in *deregisterTargetInput) (any, error) {
	return s.inWindow(ctx, in.WindowId, func(w *Window) (any, error) {
		i, err := targetIndex(w, in.WindowTargetId)
		if err != nil {
			return nil, err
		}
		if in.Safe {
			for _, task := range w.Tasks {
				if referencesTarget(task, in.WindowTargetId) {
					return nil, apierr.BadRequest("TargetInUseException",
						"Maintenance window target %s is in use by task %s of maintenance window %s", in.WindowTargetId, task.ID, w.ID)
				}
			}
		}
		w.Targets = slices.Delete(w.Targets, i, i+1)
		return deregisterTargetOutput{WindowId: w.ID, WindowTargetId: in.WindowTargetId}, nil
	})
}

func referencesTarget(task WindowTask, targetID string) bool {
	for _, t := range task.Targets {
		if t.Key == "WindowTargetIds" && slices.Contains(t.Values, targetID) {
			return true
		}
	}
	return false
}

type describeTargetsInput struct {
	WindowId   string   `json:"WindowId"`
	Filters    []Filter `json:"Filters"`
	MaxResults *int32   `json:"MaxResults"`
	NextToken  string   `json:"NextToken"`
}

type describeTargetsOutput struct {
	Targets   []targetOutput `json:"Targets"`
	NextToken string         `json:"NextToken,omitempty"`
}

// describeTargets lists a window's targets; the documented filter keys are
// Type, WindowTargetId and OwnerInformation.
func (s *Service) describeTargets(ctx Context, in *describeTargetsInput) (any, error) {
	match, err := filters(in.Filters, map[string]func(WindowTarget, string) bool{
		"Type":             func(t WindowTarget, v string) bool { return t.ResourceType == v },
		"WindowTargetId":   func(t WindowTarget, v string) bool { return t.ID == v },
		"OwnerInformation": func(t WindowTarget, v string) bool { return t.OwnerInformation == v },
	})
	if err != nil {
		return nil, err
	}
	return s.inWindow(ctx, in.WindowId, func(w *Window) (any, error) {
		items, next, err := page(slices.Values(w.Targets), match, func(t WindowTarget) string { return t.ID }, in.MaxResults, in.NextToken)
		if err != nil {
			return nil, err
		}
		out := describeTargetsOutput{Targets: make([]targetOutput, len(items)), NextToken: next}
		for i, t := range items {
			out.Targets[i] = targetToOutput(w.ID, t)
		}
		return out, nil
	})
}

func cloneTargets(ts []Target) []Target {
	if ts == nil {
		return nil
	}
	out := make([]Target, len(ts))
	for i, t := range ts {
		out[i] = Target{Key: t.Key, Values: slices.Clone(t.Values)}
	}
	return out
}
