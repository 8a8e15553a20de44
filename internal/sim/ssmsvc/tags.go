package ssmsvc

import (
	"slices"

	"github.com/orgpatch/orgpatch/internal/sim/apierr"
)

type tagsInput struct {
	ResourceType string   `json:"ResourceType"`
	ResourceId   string   `json:"ResourceId"`
	Tags         []Tag    `json:"Tags"`
	TagKeys      []string `json:"TagKeys"`
}

type listTagsOutput struct {
	TagList []Tag `json:"TagList"`
}

// tagsOf returns the tag list of a taggable resource: maintenance windows,
// parameters and the account's patch baselines are; other resource types
// the simulator does not hold are InvalidResourceType, unknown ids (and
// AWS's predefined baselines, which the account does not own)
// InvalidResourceId.
func (st *state) tagsOf(resourceType, id string) (*[]Tag, error) {
	switch resourceType {
	case "MaintenanceWindow":
		if w, ok := st.windows[id]; ok {
			return &w.Tags, nil
		}
	case "Parameter":
		if p, ok := st.params[id]; ok {
			return &p.tags, nil
		}
	case "PatchBaseline":
		if b, ok := st.baselines[id]; ok {
			return &b.Tags, nil
		}
	default:
		return nil, apierr.BadRequest("InvalidResourceType", "The resource type %s is not supported by the simulator; use MaintenanceWindow, Parameter or PatchBaseline", resourceType)
	}
	return nil, apierr.BadRequest("InvalidResourceId", "The resource ID %s is not valid. Verify the ID and try again.", id)
}

// inTags runs f on the tag list of the resource in names, holding the lock
// of ctx's account x region.
func (s *Service) inTags(ctx Context, in *tagsInput, f func(tags *[]Tag) (any, error)) (any, error) {
	st := s.state(ctx.Account, ctx.Region)
	st.mu.Lock()
	defer st.mu.Unlock()
	tags, err := st.tagsOf(in.ResourceType, in.ResourceId)
	if err != nil {
		return nil, err
	}
	return f(tags)
}

// addTags adds tags, overwriting the values of keys already there.
func (s *Service) addTags(ctx Context, in *tagsInput) (any, error) {
	if in.Tags == nil {
		return nil, validation("1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null")
	}
	return s.inTags(ctx, in, func(tags *[]Tag) (any, error) {
		merged := slices.Clone(*tags)
		for _, t := range in.Tags {
			if i := slices.IndexFunc(merged, func(e Tag) bool { return e.Key == t.Key }); i >= 0 {
				merged[i].Value = t.Value
			} else {
				merged = append(merged, t)
			}
		}
		if len(merged) > s.quotas.TagsPerResource {
			return nil, apierr.BadRequest("TooManyTagsError", "The %s %s would have %d tags; the limit is %d", in.ResourceType, in.ResourceId, len(merged), s.quotas.TagsPerResource)
		}
		*tags = merged
		return struct{}{}, nil
	})
}

func (s *Service) removeTags(ctx Context, in *tagsInput) (any, error) {
	if in.TagKeys == nil {
		return nil, validation("1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null")
	}
	return s.inTags(ctx, in, func(tags *[]Tag) (any, error) {
		*tags = slices.DeleteFunc(slices.Clone(*tags), func(t Tag) bool { return slices.Contains(in.TagKeys, t.Key) })
		return struct{}{}, nil
	})
}

func (s *Service) listTags(ctx Context, in *tagsInput) (any, error) {
	return s.inTags(ctx, in, func(tags *[]Tag) (any, error) {
		out := listTagsOutput{TagList: slices.Clone(*tags)}
		if out.TagList == nil {
			out.TagList = []Tag{}
		}
		return out, nil
	})
}
