package crosstest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

// The AWS CLI and boto3 get back the checksum they uploaded with when they
// ask for it (--checksum-mode ENABLED, ChecksumMode='ENABLED'), with its
// type; a checksum that does not match the body is BadDigest to them too.
func TestS3ChecksumsThroughTheTools(t *testing.T) {
	awsCLI := needTool(t, "aws")
	python := needPythonModules(t, "boto3")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	env := simtest.Start(t, nil)
	if _, err := pathStyleS3(env.Config).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("reports")}); err != nil {
		t.Fatal(err)
	}
	toolEnv := toolEnv(sim.ManagementAccessKeyID, sim.ManagementSecretAccessKey, "", simtest.Region)
	body := []byte("the compliance report, uploaded by the AWS CLI")
	crc := base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(body)))
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	if err := os.WriteFile(in, body, 0o600); err != nil {
		t.Fatal(err)
	}
	cli := func(args ...string) map[string]any {
		t.Helper()
		cmd := exec.CommandContext(ctx, awsCLI, append([]string{"--endpoint-url", env.URL, "--output", "json", "s3api"}, args...)...)
		cmd.Env = toolEnv
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("aws s3api %s: %v\n%s", args[0], err, stderr.String())
		}
		var got map[string]any
		if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
			t.Fatalf("aws s3api %s: %v\n%s", args[0], err, stdout.String())
		}
		return got
	}

	put := cli("put-object", "--bucket", "reports", "--key", "cli", "--body", in, "--checksum-algorithm", "CRC32")
	if put["ChecksumCRC32"] != crc {
		t.Errorf("put-object answered %v, want ChecksumCRC32 %s", put, crc)
	}
	for _, args := range [][]string{
		{"get-object", "--bucket", "reports", "--key", "cli", "--checksum-mode", "ENABLED", out},
		{"head-object", "--bucket", "reports", "--key", "cli", "--checksum-mode", "ENABLED"},
	} {
		got := cli(args...)
		if got["ChecksumCRC32"] != crc || got["ChecksumType"] != "FULL_OBJECT" {
			t.Errorf("%s answered %v, want ChecksumCRC32 %s, ChecksumType FULL_OBJECT", args[0], got, crc)
		}
	}
	if b, err := os.ReadFile(out); err != nil || !bytes.Equal(b, body) {
		t.Errorf("get-object wrote %q, %v; want the uploaded body", b, err)
	}
	if got := cli("head-object", "--bucket", "reports", "--key", "cli"); got["ChecksumCRC32"] != nil {
		t.Errorf("head-object without checksum mode answered ChecksumCRC32 %v, want none", got["ChecksumCRC32"])
	}

	// boto3: a SHA256 it computes, read back and validated; a wrong CRC32.
	const script = `
import json, sys, boto3, botocore.exceptions
s3 = boto3.client("s3", endpoint_url=sys.argv[1], config=boto3.session.Config(s3={"addressing_style": "path"}))
s3.put_object(Bucket="reports", Key="boto3", Body=b"uploaded by boto3", ChecksumAlgorithm="SHA256")
got = s3.get_object(Bucket="reports", Key="boto3", ChecksumMode="ENABLED")
out = {"body": got["Body"].read().decode(), "sha256": got.get("ChecksumSHA256"), "type": got.get("ChecksumType")}
try:
    s3.put_object(Bucket="reports", Key="bad", Body=b"uploaded by boto3", ChecksumCRC32="AAAAAA==")
    out["bad"] = "accepted"
except botocore.exceptions.ClientError as e:
    out["bad"] = e.response["Error"]["Code"]
print(json.dumps(out))
`
	cmd := exec.CommandContext(ctx, python, "-c", script, env.URL)
	cmd.Env = toolEnv
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("boto3: %v\n%s", err, stderr.String())
	}
	var got struct{ Body, SHA256, Type, Bad string }
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("boto3: %v\n%s", err, stdout.String())
	}
	sum := sha256.Sum256([]byte("uploaded by boto3"))
	sha := base64.StdEncoding.EncodeToString(sum[:])
	if got.Body != "uploaded by boto3" || got.SHA256 != sha || got.Type != "FULL_OBJECT" || got.Bad != "BadDigest" {
		t.Errorf("boto3 saw %+v, want the body, ChecksumSHA256 %s, FULL_OBJECT, and BadDigest for a wrong CRC32", got, sha)
	}
}
