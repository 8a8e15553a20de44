package smodel

import (
	"bytes"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

//go:embed models/*.json
var files embed.FS

// Constraint names the kind of rule a Violation broke.
const (
	Required = "required" // a required member is absent or null
	Length   = "length"   // string, blob, list or map size out of min..max
	Pattern  = "pattern"  // string outside the member's regular expression
	Range    = "range"    // number out of min..max
	Enum     = "enum"     // string not in the member's enum
	Type     = "type"     // value of the wrong JSON type (AWS: SerializationException)
)

// Violation is one broken constraint of one member.
type Violation struct {
	// Path is the member as AWS names it in messages: the member name with
	// its first letter lowered, list items as "name.N.member" (1-based),
	// map entries as "name.KEY", nested members joined with dots.
	Path       string
	Constraint string // one of Required, Length, Pattern, Range, Enum, Type
	// Message is AWS's sentence for it, e.g. "Value 'x' at 'name' failed to
	// satisfy constraint: Member must have length greater than or equal to 3".
	Message string
}

// Message joins violations into the message of AWS's ValidationException:
// "1 validation error detected: Value ... ; Value ...". It returns "" for none.
func Message(vs []Violation) string {
	if len(vs) == 0 {
		return ""
	}
	var b strings.Builder
	if len(vs) == 1 {
		b.WriteString("1 validation error detected: ")
	} else {
		fmt.Fprintf(&b, "%d validation errors detected: ", len(vs))
	}
	for i, v := range vs {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(v.Message)
	}
	return b.String()
}

// Has reports whether the embedded models describe service's operation
// (service as botocore names it: "ssm", "organizations", "sts", "ec2",
// "controltower", "securityhub").
func Has(service, operation string) bool {
	m := model(service)
	if m == nil {
		return false
	}
	_, ok := m.ops[operation]
	return ok
}

// Operations lists, sorted, the operations of service the models describe.
func Operations(service string) []string {
	m := model(service)
	if m == nil {
		return nil
	}
	ops := make([]string, 0, len(m.ops))
	for op := range m.ops {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	return ops
}

// Validate checks a JSON request body (JSON 1.1 or REST-JSON payload) against
// the input shape of service's operation and returns every violation, in a
// stable order. Numbers must be JSON numbers, booleans JSON booleans;
// timestamps may be epoch-second numbers or strings. An operation the models
// do not describe has no violations (check Has). Input that is not a JSON
// object is one Type violation at the top.
func Validate(service, operation string, input json.RawMessage) []Violation {
	m := model(service)
	if m == nil {
		return nil
	}
	root, ok := m.ops[operation]
	if !ok || root == nil {
		return nil
	}
	var v any
	if len(bytes.TrimSpace(input)) == 0 {
		v = map[string]any{}
	} else {
		d := json.NewDecoder(bytes.NewReader(input))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			return []Violation{{Path: "", Constraint: Type, Message: "Request body is not valid JSON: " + err.Error()}}
		}
	}
	var c checker
	c.check(root, "", v)
	return c.out
}

// ValidateValue checks an already decoded input (maps of member name to
// value, slices, strings, numbers, booleans) against service's operation. It
// is meant for the Query protocols, where every scalar arrives as a string:
// strings are accepted for numbers, booleans and timestamps when they parse
// as one.
func ValidateValue(service, operation string, input map[string]any) []Violation {
	m := model(service)
	if m == nil {
		return nil
	}
	root, ok := m.ops[operation]
	if !ok || root == nil {
		return nil
	}
	c := checker{lenient: true}
	c.check(root, "", input)
	return c.out
}

// shape is a model shape with its references resolved.
type shape struct {
	name     string
	typ      string
	members  []member // sorted by name
	member   *shape   // list item
	key      *shape   // map key
	value    *shape   // map value
	min, max *float64
	pattern  string // as the model writes it (shown in messages)
	re       *regexp.Regexp
	notBlank bool
	enum     []string
}

type member struct {
	name     string // as in the JSON body
	path     string // as in AWS messages
	required bool
	shape    *shape
}

type loaded struct {
	ops map[string]*shape // nil for operations without input
}

var (
	mu     sync.Mutex
	models = map[string]*loaded{}
)

// model loads (once) and returns the model of service, nil when unknown.
func model(service string) *loaded {
	mu.Lock()
	defer mu.Unlock()
	if m, ok := models[service]; ok {
		return m
	}
	raw, err := files.ReadFile("models/" + service + ".json")
	if err != nil {
		models[service] = nil
		return nil
	}
	m, err := build(raw)
	if err != nil {
		// The files are generated and embedded: a broken one is a bug
		// that every test of the simulator would show at once.
		panic(fmt.Sprintf("smodel: embedded model %s: %v", service, err))
	}
	models[service] = m
	return m
}

type fileRef struct {
	Shape string `json:"shape"`
}

type fileShape struct {
	Type      string             `json:"type"`
	Required  []string           `json:"required"`
	Members   map[string]fileRef `json:"members"`
	Member    *fileRef           `json:"member"`
	Key       *fileRef           `json:"key"`
	Value     *fileRef           `json:"value"`
	Min       *float64           `json:"min"`
	Max       *float64           `json:"max"`
	Pattern   string             `json:"pattern"`
	GoPattern string             `json:"goPattern"`
	NotBlank  bool               `json:"notBlank"`
	Enum      []string           `json:"enum"`
}

type fileModel struct {
	Operations map[string]string    `json:"operations"`
	Shapes     map[string]fileShape `json:"shapes"`
}

func build(raw []byte) (*loaded, error) {
	var fm fileModel
	if err := json.Unmarshal(raw, &fm); err != nil {
		return nil, err
	}
	shapes := make(map[string]*shape, len(fm.Shapes))
	for name, fs := range fm.Shapes {
		s := &shape{name: name, typ: fs.Type, min: fs.Min, max: fs.Max, pattern: fs.Pattern,
			notBlank: fs.NotBlank, enum: fs.Enum}
		if fs.GoPattern != "" {
			re, err := regexp.Compile(fs.GoPattern)
			if err != nil {
				return nil, fmt.Errorf("shape %s: %w", name, err)
			}
			s.re = re
		}
		shapes[name] = s
	}
	resolve := func(r *fileRef) (*shape, error) {
		if r == nil {
			return nil, nil
		}
		s, ok := shapes[r.Shape]
		if !ok {
			return nil, fmt.Errorf("shape %s is not in the file", r.Shape)
		}
		return s, nil
	}
	for name, fs := range fm.Shapes {
		s := shapes[name]
		req := map[string]bool{}
		for _, r := range fs.Required {
			req[r] = true
		}
		for mname, r := range fs.Members {
			ms, err := resolve(&r)
			if err != nil {
				return nil, err
			}
			s.members = append(s.members, member{name: mname, path: lowerFirst(mname), required: req[mname], shape: ms})
		}
		sort.Slice(s.members, func(i, j int) bool { return s.members[i].name < s.members[j].name })
		var err error
		if s.member, err = resolve(fs.Member); err != nil {
			return nil, err
		}
		if s.key, err = resolve(fs.Key); err != nil {
			return nil, err
		}
		if s.value, err = resolve(fs.Value); err != nil {
			return nil, err
		}
	}
	l := &loaded{ops: make(map[string]*shape, len(fm.Operations))}
	for op, in := range fm.Operations {
		if in == "" {
			l.ops[op] = nil
			continue
		}
		s, ok := shapes[in]
		if !ok {
			return nil, fmt.Errorf("operation %s: input shape %s is not in the file", op, in)
		}
		l.ops[op] = s
	}
	return l, nil
}

func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}

type checker struct {
	lenient bool
	out     []Violation
}

func (c *checker) add(path, constraint string, v any, rule string) {
	c.out = append(c.out, Violation{Path: path, Constraint: constraint,
		Message: fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: Member must %s", show(v), path, rule)})
}

// show renders a value as AWS's messages do: 'x' quoted, null bare.
func show(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return "'" + v + "'"
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = strings.Trim(show(e), "'")
		}
		return "'[" + strings.Join(parts, ", ") + "]'"
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + strings.Trim(show(v[k]), "'")
		}
		return "'{" + strings.Join(parts, ", ") + "}'"
	default:
		return fmt.Sprintf("'%v'", v)
	}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func (c *checker) check(s *shape, path string, v any) {
	switch s.typ {
	case "structure":
		obj, ok := v.(map[string]any)
		if !ok {
			c.typeErr(path, v, "be a structure")
			return
		}
		for i := range s.members {
			m := &s.members[i]
			mv, present := obj[m.name]
			p := join(path, m.path)
			if !present || mv == nil {
				if m.required {
					c.add(p, Required, nil, "not be null")
				}
				continue
			}
			c.check(m.shape, p, mv)
		}
	case "list":
		items, ok := v.([]any)
		if !ok {
			c.typeErr(path, v, "be a list")
			return
		}
		c.size(s, path, v, len(items))
		for i, item := range items {
			if item == nil {
				continue
			}
			c.check(s.member, path+"."+strconv.Itoa(i+1)+".member", item)
		}
	case "map":
		obj, ok := v.(map[string]any)
		if !ok {
			c.typeErr(path, v, "be a map")
			return
		}
		c.size(s, path, v, len(obj))
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if s.key != nil {
				c.check(s.key, path, k)
			}
			if obj[k] != nil && s.value != nil {
				c.check(s.value, path+"."+k, obj[k])
			}
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			c.typeErr(path, v, "be a string")
			return
		}
		c.size(s, path, v, utf8.RuneCountInString(str))
		if s.notBlank && strings.TrimSpace(str) == "" ||
			s.re != nil && !s.re.MatchString(str) {
			c.add(path, Pattern, v, "satisfy regular expression pattern: "+s.pattern)
		}
		if len(s.enum) > 0 && !slices.Contains(s.enum, str) {
			c.add(path, Enum, v, "satisfy enum value set: ["+strings.Join(s.enum, ", ")+"]")
		}
	case "blob":
		str, ok := v.(string)
		if !ok {
			c.typeErr(path, v, "be base64-encoded data")
			return
		}
		b, err := base64.StdEncoding.DecodeString(str)
		if err != nil {
			c.typeErr(path, v, "be base64-encoded data")
			return
		}
		c.size(s, path, v, len(b))
	case "integer", "long", "double", "float":
		f, ok := c.number(v)
		if !ok || (s.typ == "integer" || s.typ == "long") && f != math.Trunc(f) {
			c.typeErr(path, v, "be a number of type "+s.typ)
			return
		}
		if s.min != nil && f < *s.min {
			c.add(path, Range, v, "have value greater than or equal to "+num(*s.min))
		}
		if s.max != nil && f > *s.max {
			c.add(path, Range, v, "have value less than or equal to "+num(*s.max))
		}
	case "boolean":
		switch b := v.(type) {
		case bool:
		case string:
			if _, err := strconv.ParseBool(b); !c.lenient || err != nil {
				c.typeErr(path, v, "be a boolean")
			}
		default:
			c.typeErr(path, v, "be a boolean")
		}
	case "timestamp":
		switch v.(type) {
		case json.Number, float64, string:
		default:
			c.typeErr(path, v, "be a timestamp")
		}
	}
}

func (c *checker) number(v any) (float64, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case string:
		if !c.lenient {
			return 0, false
		}
		f, err := strconv.ParseFloat(n, 64)
		return f, err == nil
	}
	return 0, false
}

func (c *checker) typeErr(path string, v any, rule string) {
	c.add(path, Type, v, rule)
}

func (c *checker) size(s *shape, path string, v any, n int) {
	if s.min != nil && float64(n) < *s.min {
		c.add(path, Length, v, "have length greater than or equal to "+num(*s.min))
	}
	if s.max != nil && float64(n) > *s.max {
		c.add(path, Length, v, "have length less than or equal to "+num(*s.max))
	}
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
