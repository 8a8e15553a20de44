package reconcile

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	taggingtypes "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// Ownership, shared by the kinds whose resources carry the ownership tag
// (OwnerTagKey=OwnerTagValue): the Tagging API's index of one account x
// region, read once for every kind, and a resource's own tags.

// taggedIndex is what the Resource Groups Tagging API reports with the
// ownership tag in one account x region: one GetResources listing (one call
// per 100 owned resources) for every kind that asks, read once per observe.
// The index follows tag changes with a delay; each kind says what it trusts
// it for.
type taggedIndex struct {
	tagging TaggingAPI
	once    sync.Once
	ids     map[string]map[string]bool // resource type -> id -> tagged
	err     error
}

// newTaggedIndex returns the index read through tagging; nil (no index)
// when tagging is nil.
func newTaggedIndex(tagging TaggingAPI) *taggedIndex {
	if tagging == nil {
		return nil
	}
	return &taggedIndex{tagging: tagging}
}

// taggedTypes are the resource types the index lists, as the Tagging API
// names them (ssm:TYPE) and as they stand in an ARN (:TYPE/ID).
var taggedTypes = []string{"maintenancewindow", "patchbaseline"}

// owned returns the ids of the resources of type typ (one of taggedTypes)
// that the index reports with the ownership tag.
func (x *taggedIndex) owned(ctx context.Context, typ string) (map[string]bool, error) {
	x.once.Do(func() {
		filters := make([]string, len(taggedTypes))
		for i, t := range taggedTypes {
			filters[i] = "ssm:" + t
		}
		ids := map[string]map[string]bool{}
		pages := resourcegroupstaggingapi.NewGetResourcesPaginator(x.tagging, &resourcegroupstaggingapi.GetResourcesInput{
			TagFilters:          []taggingtypes.TagFilter{{Key: aws.String(OwnerTagKey), Values: []string{OwnerTagValue}}},
			ResourceTypeFilters: filters,
			ResourcesPerPage:    aws.Int32(100),
		})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				x.err = fmt.Errorf("get resources tagged %s=%s: %w", OwnerTagKey, OwnerTagValue, err)
				return
			}
			for _, r := range page.ResourceTagMappingList {
				// arn:partition:ssm:region:account:TYPE/ID
				for _, t := range taggedTypes {
					if _, id, ok := strings.Cut(aws.ToString(r.ResourceARN), ":"+t+"/"); ok {
						if ids[t] == nil {
							ids[t] = map[string]bool{}
						}
						ids[t][id] = true
					}
				}
			}
		}
		x.ids = ids
	})
	if x.ids[typ] == nil && x.err == nil {
		return map[string]bool{}, nil
	}
	return x.ids[typ], x.err
}

// tagsAPI is the Systems Manager call that reads a resource's tags.
type tagsAPI interface {
	ListTagsForResource(context.Context, *ssm.ListTagsForResourceInput, ...func(*ssm.Options)) (*ssm.ListTagsForResourceOutput, error)
}

// isOwned reports whether the resource (a window, a patch baseline)
// carries the ownership tag. One deleted since it was listed is not ours to
// act on.
func isOwned(ctx context.Context, client tagsAPI, resourceType types.ResourceTypeForTagging, id string) (bool, error) {
	out, err := client.ListTagsForResource(ctx, &ssm.ListTagsForResourceInput{
		ResourceType: resourceType,
		ResourceId:   aws.String(id),
	})
	if isNotFound(err) || hasCode(err, "InvalidResourceId") { // deleted since listed
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("list tags of %s %s: %w", resourceType, id, err)
	}
	for _, t := range out.TagList {
		if aws.ToString(t.Key) == OwnerTagKey && aws.ToString(t.Value) == OwnerTagValue {
			return true, nil
		}
	}
	return false, nil
}
