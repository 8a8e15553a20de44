package sim_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

// Publish reaches a topic CreateTopic made, with SNS's limits on the
// message and subject and its errors for a topic that is not there.
func TestSNSPublish(t *testing.T) {
	ctx := context.Background()
	env := simtest.Start(t, small(t))
	c := sns.NewFromConfig(noRetry(env.Config))
	created, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("orgpatch-alarms")})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(created.TopicArn)
	if arn != "arn:aws:sns:us-east-1:111111111111:orgpatch-alarms" {
		t.Fatalf("TopicArn %q", arn)
	}
	again, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("orgpatch-alarms")})
	if err != nil || aws.ToString(again.TopicArn) != arn {
		t.Errorf("CreateTopic of an existing name: %v %v, want its ARN again", again, err)
	}
	if _, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("bad name")}); errCode(err) != "InvalidParameter" {
		t.Errorf("a name with a space: %s, want InvalidParameter", errCode(err))
	}

	out, err := c.Publish(ctx, &sns.PublishInput{TopicArn: &arn, Subject: aws.String("orgpatch: ring prod held"), Message: aws.String("held: canary alarm in ALARM")})
	if err != nil {
		t.Fatal(err)
	}
	publish := func(edit func(*sns.PublishInput)) error {
		in := &sns.PublishInput{TopicArn: &arn, Message: aws.String("m")}
		edit(in)
		_, err := c.Publish(ctx, in)
		return err
	}
	for name, tc := range map[string]struct {
		edit func(*sns.PublishInput)
		want string
	}{
		"unknown topic": {func(in *sns.PublishInput) { in.TopicArn = aws.String(arn + "-gone") }, "NotFound"},
		"malformed arn": {func(in *sns.PublishInput) { in.TopicArn = aws.String("orgpatch-alarms") }, "InvalidParameter"},
		"another region": {func(in *sns.PublishInput) {
			in.TopicArn = aws.String(strings.Replace(arn, "us-east-1", "eu-west-1", 1))
		}, "InvalidParameter"},
		"empty message":       {func(in *sns.PublishInput) { in.Message = aws.String("") }, "InvalidParameter"},
		"message over 256KiB": {func(in *sns.PublishInput) { in.Message = aws.String(strings.Repeat("x", sim.MaxSNSMessageBytes+1)) }, "InvalidParameter"},
		"subject of 100":      {func(in *sns.PublishInput) { in.Subject = aws.String(strings.Repeat("s", 100)) }, "InvalidParameter"},
		"subject line break":  {func(in *sns.PublishInput) { in.Subject = aws.String("a\nb") }, "InvalidParameter"},
		"json without default": {func(in *sns.PublishInput) {
			in.MessageStructure, in.Message = aws.String("json"), aws.String(`{"email":"x"}`)
		}, "InvalidParameter"},
	} {
		if err := publish(tc.edit); errCode(err) != tc.want {
			t.Errorf("%s: %s, want %s", name, errCode(err), tc.want)
		}
	}
	if err := publish(func(in *sns.PublishInput) { in.Message = aws.String(strings.Repeat("x", sim.MaxSNSMessageBytes)) }); err != nil {
		t.Errorf("a message of exactly 256 KiB: %v", err)
	}
	// Another account sees the topic, but may not publish to it.
	member := sns.NewFromConfig(noRetry(env.AccountConfig(t, "444444444444", sim.DefaultRoleName)))
	if _, err := member.Publish(ctx, &sns.PublishInput{TopicArn: &arn, Message: aws.String("m")}); errCode(err) != "AuthorizationError" {
		t.Errorf("another account's topic: %s, want AuthorizationError", errCode(err))
	}
	got := env.Server.Messages(arn)
	if len(got) != 2 || got[0].ID != aws.ToString(out.MessageId) || got[0].Subject != "orgpatch: ring prod held" || got[0].Message != "held: canary alarm in ALARM" {
		t.Errorf("messages: %+v, want the first publish then the 256 KiB one", got)
	}
}

// ListTopics pages by 100 and lists only the caller's account and region.
func TestSNSListTopics(t *testing.T) {
	ctx := context.Background()
	env := simtest.Start(t, small(t))
	c := sns.NewFromConfig(noRetry(env.Config))
	for i := range 150 {
		if _, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(fmt.Sprintf("t%03d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	member := sns.NewFromConfig(noRetry(env.AccountConfig(t, "444444444444", sim.DefaultRoleName)))
	if _, err := member.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("member-topic")}); err != nil {
		t.Fatal(err)
	}
	var pages, topics int
	p := sns.NewListTopicsPaginator(c, &sns.ListTopicsInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		topics += len(out.Topics)
	}
	if pages != 2 || topics != 150 {
		t.Errorf("%d topics in %d pages, want 150 in 2", topics, pages)
	}
}
