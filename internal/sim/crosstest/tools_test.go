package crosstest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// needTool returns the path of the executable name, skipping the test when
// it is missing outside CI and failing it in CI.
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		missing(t, "%s not on PATH: %v", name, err)
	}
	return path
}

// needPythonModules checks that python3 imports every module, as needTool
// does for executables.
func needPythonModules(t *testing.T, modules ...string) string {
	t.Helper()
	py := needTool(t, "python3")
	out, err := exec.Command(py, "-c", "import "+strings.Join(modules, ", ")).CombinedOutput()
	if err != nil {
		missing(t, "python3 cannot import %s: %v: %s", strings.Join(modules, ", "), err, out)
	}
	return py
}

func missing(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format+" (CI=true: the tool is required)", args...)
	}
	t.Skipf(format, args...)
}

// toolEnv is an environment for the AWS CLI and boto3 that reads no
// configuration or credentials file of the machine's user.
func toolEnv(accessKey, secretKey, token, region string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"AWS_ACCESS_KEY_ID="+accessKey,
		"AWS_SECRET_ACCESS_KEY="+secretKey,
		"AWS_DEFAULT_REGION="+region,
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_MAX_ATTEMPTS=1",
	)
	if token != "" {
		env = append(env, "AWS_SESSION_TOKEN="+token)
	}
	return env
}
