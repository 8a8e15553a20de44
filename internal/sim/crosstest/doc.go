// Package crosstest holds the simulator's tests from outside Go: the same
// scenario driven through aws-sdk-go-v2, the AWS CLI and boto3 must see the
// same identifiers, values and error codes, and the operations moto also
// implements must answer in the same shapes and with the same error codes as
// moto_server does, wherever moto follows AWS. Where moto departs from the
// AWS documentation the tests name the departure and check that it is still
// exactly as described, so the list stays true.
//
// The package has no code of its own; its tests need the `aws` CLI, python3
// with boto3, and `moto_server` on PATH. They skip when a tool is missing,
// unless the environment says CI=true, where a missing tool fails them.
package crosstest
