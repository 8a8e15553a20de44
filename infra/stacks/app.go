package stacks

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// Stack ids: also the CloudFormation stack names.
const (
	ManagementStackID = "orgpatch"
	ForwarderStackID  = "orgpatch-forwarder"
	MemberStageID     = "MemberRoles"
	MemberStackID     = "orgpatch-member-roles"
)

// AppProps configure the whole app.
type AppProps struct {
	Settings Settings
	// CodeDir holds the compiled Lambda "bootstrap" (see BuildBootstrap).
	CodeDir string
}

// Stacks are the app's stacks.
type Stacks struct {
	Management *ManagementStack
	// Member is the member-roles template, synthesized into its own nested
	// assembly (cdk.out/assembly-MemberRoles) and deployed only through the
	// StackSet; `cdk deploy --all` does not deploy it on its own.
	Member awscdk.Stack
	// Forwarder is nil when the home region is us-east-1.
	Forwarder *ForwarderStack
}

// NewApp adds orgpatch's stacks to app and checks every one of them with
// the cdk-nag AwsSolutions pack (findings are errors at synth).
func NewApp(app awscdk.App, p AppProps) (*Stacks, error) {
	s := p.Settings
	if err := s.Validate(); err != nil {
		return nil, err
	}
	nag := cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)})
	awscdk.Aspects_Of(app).Add(nag, nil)

	// The member template is synthesized before the management stack
	// embeds it, so its stage gets the checks directly: the app's aspects
	// have not run yet at that point.
	stage := awscdk.NewStage(app, jsii.String(MemberStageID), nil)
	awscdk.Aspects_Of(stage).Add(nag, nil)
	member := NewMemberRolesStack(stage, MemberStackID, &MemberRolesStackProps{
		StackProps: awscdk.StackProps{StackName: jsii.String(MemberStackID)},
		Settings:   s,
	})
	body, err := TemplateBody(member)
	if err != nil {
		return nil, err
	}
	// CloudFormation takes at most 51,200 bytes in TemplateBody.
	if len(body) > 51200 {
		return nil, fmt.Errorf("member template is %d bytes; a StackSet's TemplateBody takes at most 51200", len(body))
	}

	out := &Stacks{Member: member}
	out.Management = NewManagementStack(app, ManagementStackID, &ManagementStackProps{
		StackProps: awscdk.StackProps{
			StackName: jsii.String(ManagementStackID),
			Env:       &awscdk.Environment{Region: jsii.String(s.HomeRegion)},
		},
		Settings:           s,
		CodeDir:            p.CodeDir,
		MemberTemplateBody: body,
	})
	if s.HomeRegion != OrganizationsEventsRegion {
		out.Forwarder = NewForwarderStack(app, ForwarderStackID, &ForwarderStackProps{
			StackProps: awscdk.StackProps{
				StackName: jsii.String(ForwarderStackID),
				Env:       &awscdk.Environment{Region: jsii.String(OrganizationsEventsRegion)},
			},
			HomeRegion: s.HomeRegion,
		})
	}
	return out, nil
}
