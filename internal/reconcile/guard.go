package reconcile

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/orgpatch/orgpatch/internal/config"
)

// CheckTask refuses to write a task orgpatch must never write, whatever the
// configuration or the plan says: one that does not run Run Command, runs a
// document other than orgpatch's, passes that document a parameter outside
// its allowlist (config.DocumentParameterNames; Operation and RebootOption
// for AWS-RunPatchBaseline), or runs under a role other than taskRoleARN
// (or none, which makes Systems Manager use its service-linked role).
//
// IAM cannot say this for the configuration role: no condition key AWS
// documents for RegisterTaskWithMaintenanceWindow or
// UpdateMaintenanceWindowTask names the task's document or its parameters,
// and iam:PassRole limits which roles can be passed but cannot require one.
// apply calls it before every task write.
func CheckTask(t DesiredTask, taskRoleARN string) error {
	var bad []string
	if t.Type != taskTypeRunCommand {
		bad = append(bad, fmt.Sprintf("task type %s is not %s", t.Type, taskTypeRunCommand))
	}
	allowed, known := config.DocumentParameterNames[t.TaskArn]
	if !known {
		bad = append(bad, fmt.Sprintf("document %s is not one of %s, %s", t.TaskArn, config.DocumentRunPatchBaseline, config.DocumentUpdateSSMAgent))
	}
	if t.TaskArn == config.DocumentRunPatchBaseline {
		allowed = append(slices.Clone(allowed), "Operation", "RebootOption")
	}
	if t.ServiceRoleArn != taskRoleARN || taskRoleARN == "" {
		bad = append(bad, fmt.Sprintf("service role %q is not the task role %s", t.ServiceRoleArn, taskRoleARN))
	}
	if rc := t.RunCommand; rc != nil {
		if rc.ServiceRoleArn != "" && rc.ServiceRoleArn != taskRoleARN {
			bad = append(bad, fmt.Sprintf("Run Command service role %q is not the task role %s", rc.ServiceRoleArn, taskRoleARN))
		}
		for _, name := range slices.Sorted(maps.Keys(rc.Parameters)) {
			if !slices.Contains(allowed, name) {
				bad = append(bad, fmt.Sprintf("parameter %s is not one %s takes from orgpatch (allowed: %s)", name, t.TaskArn, strings.Join(allowed, ", ")))
			}
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("task %s refused before writing: %s", t.Name, strings.Join(bad, "; "))
	}
	return nil
}
