package reconcile

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// DocumentCache shares the documents' current hashes between the
// reconciles of one run, so that a region's AWS-owned documents are
// described once per run, not once per account. It is safe for concurrent
// use; concurrent look-ups of one document make one call. Failed look-ups
// are not kept. The zero value is ready to use.
//
// AWS-owned documents (names starting "AWS-") are the same in every account
// of a region and are shared per region; any other document is the
// account's own and is kept per account x region.
type DocumentCache struct {
	mu      sync.Mutex
	entries map[docKey]*docEntry
}

// NewDocumentCache returns an empty cache.
func NewDocumentCache() *DocumentCache { return &DocumentCache{} }

type docKey struct{ account, region, name string }

type docEntry struct {
	done chan struct{}
	hash string
	err  error
}

// hash returns the current Sha256 hash of the document name, describing it
// through client unless the cache has it.
func (c *DocumentCache) hash(ctx context.Context, client documentsAPI, account, region, name string) (string, error) {
	if c == nil {
		return describeDocument(ctx, client, name)
	}
	key := docKey{region: region, name: name}
	if !strings.HasPrefix(name, "AWS-") {
		key.account = account
	}
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[docKey]*docEntry{}
	}
	e, ok := c.entries[key]
	if !ok {
		e = &docEntry{done: make(chan struct{})}
		c.entries[key] = e
	}
	c.mu.Unlock()
	if ok {
		select {
		case <-e.done:
		case <-ctx.Done():
			return "", fmt.Errorf("describe document %s: %w", name, context.Cause(ctx))
		}
		if e.err == nil {
			return e.hash, nil
		}
		// The first look-up failed (maybe for its own reasons, e.g. its
		// context); try on our own.
		return describeDocument(ctx, client, name)
	}
	e.hash, e.err = describeDocument(ctx, client, name)
	if e.err != nil {
		c.mu.Lock()
		delete(c.entries, key)
		c.mu.Unlock()
	}
	close(e.done)
	return e.hash, e.err
}

// documentsAPI is the Systems Manager call that reads a document's hash.
type documentsAPI interface {
	DescribeDocument(context.Context, *ssm.DescribeDocumentInput, ...func(*ssm.Options)) (*ssm.DescribeDocumentOutput, error)
}

func describeDocument(ctx context.Context, client documentsAPI, name string) (string, error) {
	out, err := client.DescribeDocument(ctx, &ssm.DescribeDocumentInput{Name: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("describe document %s: %w", name, err)
	}
	if out.Document == nil {
		return "", fmt.Errorf("describe document %s: no document in the answer", name)
	}
	return aws.ToString(out.Document.Hash), nil
}
