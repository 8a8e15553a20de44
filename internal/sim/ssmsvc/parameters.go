package ssmsvc

import (
	"crypto/sha256"
	"encoding/base64"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/orgpatch/orgpatch/internal/sim/apierr"
)

// Parameter Store limits from "AWS Systems Manager endpoints and quotas"
// (Parameter Store): value size by tier, hierarchy depth, versions kept.
const (
	standardValueMax = 4096
	advancedValueMax = 8192
	maxHierarchy     = 15
	maxVersions      = 100
)

type parameter struct {
	name     string
	typ      string
	keyID    string
	dataType string
	tier     string
	pattern  string
	tags     []Tag
	versions []parameterVersion // versions[i] is version i+1 (oldest may be dropped)
	first    int64              // version number of versions[0]
}

type parameterVersion struct {
	value    string
	modified time.Time
}

func (p *parameter) latest() int64 { return p.first + int64(len(p.versions)) - 1 }

type putParameterInput struct {
	Name           string `json:"Name"`
	Description    string `json:"Description"`
	Value          string `json:"Value"`
	Type           string `json:"Type"`
	KeyId          string `json:"KeyId"`
	Overwrite      bool   `json:"Overwrite"`
	AllowedPattern string `json:"AllowedPattern"`
	Tags           []Tag  `json:"Tags"`
	Tier           string `json:"Tier"`
	DataType       string `json:"DataType"`
}

type putParameterOutput struct {
	Version int64  `json:"Version"`
	Tier    string `json:"Tier"`
}

var (
	paramSegment = regexp.MustCompile(`^[a-zA-Z0-9_.\-]+$`)
	// kmsKeyID is the shape of the KMS key references PutParameter takes:
	// there is no KMS in the simulator, so any well-formed one exists.
	kmsKeyID = regexp.MustCompile(`^(alias/[a-zA-Z0-9/_-]+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32}|arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/[a-zA-Z0-9/_-]+)$`)
)

// checkParameterName applies Parameter Store's naming rules: letters,
// digits and _ . - in each segment; a hierarchy starts with / and has at
// most 15 levels; no name may start with aws or ssm.
func checkParameterName(name string) error {
	segs := strings.Split(strings.TrimPrefix(name, "/"), "/")
	if strings.Contains(name, "/") && !strings.HasPrefix(name, "/") {
		return validation("Parameter name %s: a hierarchical name must begin with /.", name)
	}
	if len(segs) > maxHierarchy {
		return apierr.BadRequest("HierarchyLevelLimitExceededException", "Parameter name %s has %d levels; the limit is %d.", name, len(segs), maxHierarchy)
	}
	for _, s := range segs {
		if !paramSegment.MatchString(s) {
			return validation("Parameter name %s: each level must be letters, digits, _ . or -, and not empty.", name)
		}
	}
	if l := strings.ToLower(segs[0]); strings.HasPrefix(l, "aws") || strings.HasPrefix(l, "ssm") {
		return validation("Parameter name %s: names cannot begin with aws or ssm (any case).", name)
	}
	return nil
}

func parameterARN(ctx Context, name string) string {
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	return "arn:" + ctx.partition() + ":ssm:" + ctx.Region + ":" + ctx.Account + ":parameter" + name
}

// putParameter creates a parameter (Type required) or, with Overwrite, adds
// a version to it; without Overwrite an existing name is
// ParameterAlreadyExists, and an overwrite cannot change the type
// (HierarchyTypeMismatchException). Tags are only accepted on create.
func (s *Service) putParameter(ctx Context, in *putParameterInput) (any, error) {
	if err := checkParameterName(in.Name); err != nil {
		return nil, err
	}
	if in.Overwrite && len(in.Tags) > 0 {
		return nil, validation("Invalid request: tags and overwrite can't be used together. To create a parameter with tags, clear the overwrite option; to update tags of an existing parameter, use AddTagsToResource or RemoveTagsFromResource.")
	}
	if in.KeyId != "" && in.Type != "" && in.Type != "SecureString" {
		return nil, validation("KeyId is only valid for parameters of type SecureString, not %s.", in.Type)
	}
	if in.KeyId != "" && !kmsKeyID.MatchString(in.KeyId) {
		return nil, apierr.BadRequest("InvalidKeyId", "The KeyId %s is not a KMS key id, key ARN, alias name or alias ARN.", in.KeyId)
	}
	switch in.DataType {
	case "", "text", "aws:ec2:image", "aws:ssm:integration":
	default:
		return nil, validation("DataType %s is not valid; allowed values are text, aws:ec2:image and aws:ssm:integration.", in.DataType)
	}
	tier := in.Tier
	switch tier {
	case "", "Intelligent-Tiering":
		tier = "Standard"
		if len(in.Value) > standardValueMax {
			tier = "Advanced"
		}
	}
	if max := map[string]int{"Standard": standardValueMax, "Advanced": advancedValueMax}[tier]; len(in.Value) > max {
		return nil, validation("%s tier parameters support a maximum parameter value of %d characters.", tier, max)
	}
	if in.AllowedPattern != "" {
		re, err := regexp.Compile(`^(?:` + in.AllowedPattern + `)$`)
		if err != nil {
			return nil, apierr.BadRequest("InvalidAllowedPatternException", "The allowed pattern %s is not a valid regular expression.", in.AllowedPattern)
		}
		if !re.MatchString(in.Value) {
			return nil, apierr.BadRequest("ParameterPatternMismatchException", "Parameter value, cannot be validated against allowedPattern: %s", in.AllowedPattern)
		}
	}
	st := s.state(ctx.Account, ctx.Region)
	st.mu.Lock()
	defer st.mu.Unlock()
	p, exists := st.params[in.Name]
	now := ctx.now()
	if !exists {
		if in.Type == "" {
			return nil, validation("A parameter type is required when you create a parameter.")
		}
		if len(st.params) >= s.quotas.Parameters {
			return nil, apierr.BadRequest("ParameterLimitExceeded", "You have exceeded the number of parameters (%d) for this account and region.", s.quotas.Parameters)
		}
		p = &parameter{name: in.Name, first: 1, tags: append([]Tag(nil), in.Tags...)}
		st.params[in.Name] = p
	} else if !in.Overwrite {
		return nil, apierr.BadRequest("ParameterAlreadyExists", "The parameter already exists. To overwrite this request, set the overwrite option in the request to true.")
	} else if in.Type != "" && in.Type != p.typ {
		return nil, apierr.BadRequest("HierarchyTypeMismatchException", "Parameter %s is a %s; its type cannot change to %s. Create a new parameter instead.", in.Name, p.typ, in.Type)
	}
	if in.Type != "" {
		p.typ = in.Type
	}
	if p.typ == "SecureString" {
		p.keyID = "alias/aws/ssm"
		if in.KeyId != "" {
			p.keyID = in.KeyId
		}
	}
	p.dataType = "text"
	if in.DataType != "" {
		p.dataType = in.DataType
	}
	p.tier, p.pattern = tier, in.AllowedPattern
	p.versions = append(p.versions, parameterVersion{value: in.Value, modified: now})
	if len(p.versions) > maxVersions {
		p.versions = p.versions[1:]
		p.first++
	}
	return putParameterOutput{Version: p.latest(), Tier: tier}, nil
}

type getParameterInput struct {
	Name           string `json:"Name"`
	WithDecryption bool   `json:"WithDecryption"`
}

type parameterView struct {
	Name             string `json:"Name"`
	Type             string `json:"Type"`
	Value            string `json:"Value"`
	Version          int64  `json:"Version"`
	Selector         string `json:"Selector,omitempty"`
	LastModifiedDate *epoch `json:"LastModifiedDate"`
	ARN              string `json:"ARN"`
	DataType         string `json:"DataType"`
}

type getParameterOutput struct {
	Parameter parameterView `json:"Parameter"`
}

func parameterNotFound(name string) error {
	return apierr.BadRequest("ParameterNotFound", "Parameter %s not found.", name)
}

// getParameter returns the latest version, or the one a ":N" selector names.
// A SecureString's value is an opaque ciphertext unless WithDecryption.
func (s *Service) getParameter(ctx Context, in *getParameterInput) (any, error) {
	name, selector, hasSelector := strings.Cut(in.Name, ":")
	st := s.state(ctx.Account, ctx.Region)
	st.mu.Lock()
	defer st.mu.Unlock()
	p, ok := st.params[name]
	if !ok {
		return nil, parameterNotFound(name)
	}
	v := p.latest()
	if hasSelector {
		n, err := strconv.ParseInt(selector, 10, 64)
		if err != nil || n < p.first || n > p.latest() {
			return nil, apierr.BadRequest("ParameterVersionNotFound", "Systems Manager could not find version %s of %s.", selector, name)
		}
		v = n
	}
	pv := p.versions[v-p.first]
	value := pv.value
	if p.typ == "SecureString" && !in.WithDecryption {
		sum := sha256.Sum256([]byte(p.keyID + "\x00" + value))
		value = base64.StdEncoding.EncodeToString(sum[:])
	}
	out := parameterView{Name: name, Type: p.typ, Value: value, Version: v, LastModifiedDate: stamp(pv.modified),
		ARN: parameterARN(ctx, name), DataType: p.dataType}
	if hasSelector {
		out.Selector = ":" + selector
	}
	return getParameterOutput{Parameter: out}, nil
}

type nameInput struct {
	Name string `json:"Name"`
}

func (s *Service) deleteParameter(ctx Context, in *nameInput) (any, error) {
	st := s.state(ctx.Account, ctx.Region)
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, ok := st.params[in.Name]; !ok {
		return nil, parameterNotFound(in.Name)
	}
	delete(st.params, in.Name)
	return struct{}{}, nil
}
