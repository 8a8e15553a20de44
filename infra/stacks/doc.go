// Package stacks defines what `cdk deploy` puts into an AWS Organization for
// orgpatch: the management stack (the Lambda, its least-privilege role, the
// custom resource carrying the configuration, the triggers, the alarms), the
// member-roles template the StackSet rolls out to every account, and the
// us-east-1 forwarder for Organizations events.
//
// The contract with the rest of the project:
//   - The custom resource's properties are exactly what internal/config
//     decodes; nothing else is sent.
//   - The roles' names are fixed and shared: the Lambda role's ARN is what the
//     member configuration roles trust, and the configuration, task and DHMC
//     role names are what the Lambda assumes, registers and sets.
//   - Every template is partition-aware (no "arn:aws:" literal), passes the
//     cdk-nag AwsSolutions pack with each suppression explained, and lints
//     clean with cfn-lint.
//
// Settings an admin flips without editing code are CloudFormation parameters;
// settings fixed at synth time (names, memory, home region) are CDK context,
// read through Settings.
package stacks
