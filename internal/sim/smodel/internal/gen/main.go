// Command gen extracts, from botocore's service models, the input shapes of
// the operations the simulator implements (with every shape they reference)
// and writes them as small JSON files that package smodel embeds.
//
// Only what validation needs is kept: member names, required lists, types,
// min/max, patterns (with a Go translation) and enums. Java-only pattern
// features are translated where the meaning is kept and otherwise recorded as
// skipped, with the reason, in the output.
//
// Usage (from package smodel, through go generate):
//
//	go run ./internal/gen -out models [-botocore DIR]
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// operations lists, per service, the operations the simulator implements;
// nil means every operation of the service (the small services).
var operations = map[string][]string{
	"ssm": {
		"CreateMaintenanceWindow", "GetMaintenanceWindow", "UpdateMaintenanceWindow",
		"DeleteMaintenanceWindow", "DescribeMaintenanceWindows",
		"RegisterTargetWithMaintenanceWindow", "UpdateMaintenanceWindowTarget",
		"DeregisterTargetFromMaintenanceWindow", "DescribeMaintenanceWindowTargets",
		"RegisterTaskWithMaintenanceWindow", "UpdateMaintenanceWindowTask",
		"DeregisterTaskFromMaintenanceWindow", "GetMaintenanceWindowTask",
		"DescribeMaintenanceWindowTasks",
		"AddTagsToResource", "RemoveTagsFromResource", "ListTagsForResource",
		"DescribeDocument",
		"GetServiceSetting", "UpdateServiceSetting", "ResetServiceSetting",
		"GetParameter", "PutParameter", "DeleteParameter",
		"DescribeInstanceInformation", "DescribeInstancePatchStates",
		"ListResourceComplianceSummaries", "ListComplianceItems",
		"CreatePatchBaseline", "GetPatchBaseline", "UpdatePatchBaseline", "DeletePatchBaseline",
		"DescribePatchBaselines", "RegisterDefaultPatchBaseline", "GetDefaultPatchBaseline",
		"RegisterPatchBaselineForPatchGroup", "DeregisterPatchBaselineForPatchGroup",
		"GetPatchBaselineForPatchGroup", "DescribePatchGroups",
		"DescribeAvailablePatches", "DescribeInstancePatches",
		"DescribeMaintenanceWindowExecutions", "DescribeMaintenanceWindowExecutionTasks",
		"ListCommands", "ListCommandInvocations",
	},
	"organizations":            nil,
	"sts":                      nil,
	"controltower":             nil,
	"ec2":                      {"DescribeRegions", "DescribeAvailabilityZones", "DescribeInstances"},
	"resourcegroupstaggingapi": {"GetResources"},
	"cloudformation":           {"DescribeStacks"},
	"securityhub":              {"BatchImportFindings", "GetFindings"},
	"events":                   {"PutEvents"},
	"sns":                      {"CreateTopic", "ListTopics", "Publish"},
	"cloudwatch":               {"PutMetricAlarm", "DescribeAlarms", "SetAlarmState"},
	"s3": {"CreateBucket", "HeadBucket", "PutObject", "GetObject", "HeadObject", "ListObjectsV2",
		"CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload", "AbortMultipartUpload"},
}

type botoModel struct {
	Metadata struct {
		APIVersion string `json:"apiVersion"`
		Protocol   string `json:"protocol"`
	} `json:"metadata"`
	Operations map[string]struct {
		Input *struct {
			Shape string `json:"shape"`
		} `json:"input"`
	} `json:"operations"`
	Shapes map[string]botoShape `json:"shapes"`
}

type ref struct {
	Shape        string `json:"shape"`
	LocationName string `json:"locationName,omitempty"`
	QueryName    string `json:"queryName,omitempty"`
	Location     string `json:"location,omitempty"`
}

type botoShape struct {
	Type     string         `json:"type"`
	Required []string       `json:"required"`
	Members  map[string]ref `json:"members"`
	Member   *ref           `json:"member"`
	Key      *ref           `json:"key"`
	Value    *ref           `json:"value"`
	Min      *json.Number   `json:"min"`
	Max      *json.Number   `json:"max"`
	Pattern  string         `json:"pattern"`
	Enum     []string       `json:"enum"`
}

// outShape is the shape as smodel reads it (keep in sync with smodel.shape).
type outShape struct {
	Type        string         `json:"type"`
	Required    []string       `json:"required,omitempty"`
	Members     map[string]ref `json:"members,omitempty"`
	Member      *ref           `json:"member,omitempty"`
	Key         *ref           `json:"key,omitempty"`
	Value       *ref           `json:"value,omitempty"`
	Min         *json.Number   `json:"min,omitempty"`
	Max         *json.Number   `json:"max,omitempty"`
	Pattern     string         `json:"pattern,omitempty"`
	GoPattern   string         `json:"goPattern,omitempty"`
	PatternSkip string         `json:"patternSkipped,omitempty"`
	NotBlank    bool           `json:"notBlank,omitempty"`
	Enum        []string       `json:"enum,omitempty"`
}

type outModel struct {
	Service    string              `json:"service"`
	APIVersion string              `json:"apiVersion"`
	Protocol   string              `json:"protocol"`
	Operations map[string]string   `json:"operations"` // operation -> input shape ("" when none)
	Shapes     map[string]outShape `json:"shapes"`
}

func main() {
	out := flag.String("out", "models", "directory the JSON files are written to")
	dir := flag.String("botocore", "", "botocore's data directory (default: found through python3)")
	flag.Parse()
	if *dir == "" {
		d, err := botocoreDir()
		if err != nil {
			log.Fatal(err)
		}
		*dir = d
	}
	files, err := generate(*dir)
	if err != nil {
		log.Fatal(err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(*out, name), b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

// botocoreDir asks the machine's python3 where botocore's data lives.
func botocoreDir() (string, error) {
	b, err := exec.Command("python3", "-c", "import botocore, os; print(os.path.join(os.path.dirname(botocore.__file__), 'data'))").Output()
	if err != nil {
		return "", fmt.Errorf("find botocore through python3 (or pass -botocore): %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// generate returns the model files by name ("ssm.json").
func generate(dir string) (map[string][]byte, error) {
	files := map[string][]byte{}
	for svc, ops := range operations {
		m, err := load(dir, svc)
		if err != nil {
			return nil, err
		}
		om, err := extract(svc, m, ops)
		if err != nil {
			return nil, err
		}
		b, err := json.MarshalIndent(om, "", " ")
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", svc, err)
		}
		files[svc+".json"] = append(b, '\n')
	}
	return files, nil
}

// load reads the newest API version of a service's model, gzipped or not.
func load(dir, svc string) (*botoModel, error) {
	versions, err := os.ReadDir(filepath.Join(dir, svc))
	if err != nil {
		return nil, fmt.Errorf("list versions of %s: %w", svc, err)
	}
	var latest string
	for _, v := range versions {
		if v.IsDir() && v.Name() > latest {
			latest = v.Name()
		}
	}
	p := filepath.Join(dir, svc, latest, "service-2.json")
	raw, err := os.ReadFile(p)
	if os.IsNotExist(err) {
		var gz []byte
		if gz, err = os.ReadFile(p + ".gz"); err == nil {
			var r *gzip.Reader
			if r, err = gzip.NewReader(bytes.NewReader(gz)); err == nil {
				raw, err = io.ReadAll(r)
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("read model of %s: %w", svc, err)
	}
	var m botoModel
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode model of %s: %w", svc, err)
	}
	return &m, nil
}

func extract(svc string, m *botoModel, ops []string) (*outModel, error) {
	if ops == nil {
		for name := range m.Operations {
			ops = append(ops, name)
		}
	}
	om := &outModel{Service: svc, APIVersion: m.Metadata.APIVersion, Protocol: m.Metadata.Protocol,
		Operations: map[string]string{}, Shapes: map[string]outShape{}}
	var visit func(name string) error
	visit = func(name string) error {
		if _, done := om.Shapes[name]; done {
			return nil
		}
		s, ok := m.Shapes[name]
		if !ok {
			return fmt.Errorf("%s: shape %s is referenced but not defined", svc, name)
		}
		o := outShape{Type: s.Type, Required: s.Required, Members: s.Members, Member: s.Member,
			Key: s.Key, Value: s.Value, Min: s.Min, Max: s.Max, Enum: s.Enum}
		if s.Pattern != "" {
			o.Pattern = s.Pattern
			p := s.Pattern
			// The one lookahead the models use means "not only
			// whitespace": checked in Go, the rest as a regexp.
			if rest, ok := strings.CutPrefix(p, notBlank); ok {
				o.NotBlank, p = true, "^"+rest
			}
			o.GoPattern, o.PatternSkip = translate(p)
		}
		om.Shapes[name] = o
		var refs []string
		for _, r := range s.Members {
			refs = append(refs, r.Shape)
		}
		for _, r := range []*ref{s.Member, s.Key, s.Value} {
			if r != nil {
				refs = append(refs, r.Shape)
			}
		}
		for _, r := range refs {
			if err := visit(r); err != nil {
				return err
			}
		}
		return nil
	}
	for _, op := range ops {
		o, ok := m.Operations[op]
		if !ok {
			return nil, fmt.Errorf("%s has no operation %s", svc, op)
		}
		om.Operations[op] = ""
		if o.Input != nil {
			om.Operations[op] = o.Input.Shape
			if err := visit(o.Input.Shape); err != nil {
				return nil, err
			}
		}
	}
	return om, nil
}

// notBlank is the lookahead prefix the models use to refuse blank values.
const notBlank = `^(?!\s*$)`

var (
	// Java's \uXXXX; the models also write supplementary code points as
	// \u10000..\u10FFFF (5 or 6 digits), meaning the code point, not \u1000
	// followed by a digit.
	javaUnicode = regexp.MustCompile(`\\u(10[0-9A-Fa-f]{4}|1[0-9A-Fa-f]{4}|[0-9A-Fa-f]{4})`)
	// RE2 refuses repeat counts above 1000.
	bigRepeat = regexp.MustCompile(`\{(\d+),(\d+)\}`)
)

// translate turns a model's (Java) pattern into a Go regexp, or says why it
// cannot: lookaheads and backreferences have no RE2 equivalent.
//
// Translations that keep the meaning: \uXXXX becomes \x{XXXX}. The one that
// loosens it: a repeat {n,m} with m > 1000 becomes {n,} (the members that
// use one also carry a max length, which still bounds them).
func translate(p string) (goPattern, skipped string) {
	g := javaUnicode.ReplaceAllString(p, `\x{$1}`)
	g = bigRepeat.ReplaceAllStringFunc(g, func(s string) string {
		m := bigRepeat.FindStringSubmatch(s)
		if hi, _ := strconv.Atoi(m[2]); hi > 1000 {
			return "{" + m[1] + ",}"
		}
		return s
	})
	// Java's patterns are matched against the whole value (String.matches).
	g = `^(?:` + g + `)$`
	if _, err := regexp.Compile(g); err != nil {
		return "", "not expressible in Go's RE2: " + err.Error()
	}
	return g, ""
}
