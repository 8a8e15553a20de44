package crosstest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// A response's shape is the sorted set of its member paths, each with the
// JSON type found there ("WindowIdentities[].Duration number"). List items
// share the path "[]"; the keys of a map the model declares share "{}"; in
// XML bodies a path is the element names joined by "/" and the type is
// "text" for leaves.

// model is one botocore service model, enough to walk outputs.
type model struct {
	Operations map[string]struct {
		Output *struct {
			Shape string `json:"shape"`
		} `json:"output"`
	} `json:"operations"`
	Shapes map[string]modelShape `json:"shapes"`
}

type modelShape struct {
	Type    string              `json:"type"`
	Members map[string]shapeRef `json:"members"`
	Member  *shapeRef           `json:"member"`
	Value   *shapeRef           `json:"value"`
}

// shapeRef names a shape of the model.
type shapeRef struct {
	Shape string `json:"shape"`
}

// botocoreDir is where python3's botocore keeps its service models.
func botocoreDir(t *testing.T, python string) string {
	t.Helper()
	out, err := exec.Command(python, "-c", "import botocore, os; print(os.path.dirname(botocore.__file__))").Output()
	if err != nil {
		missing(t, "python3 has no botocore: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "data")
}

// loadModel reads the botocore model of service at apiVersion.
func loadModel(t *testing.T, dir, service, apiVersion string) *model {
	t.Helper()
	base := filepath.Join(dir, service, apiVersion, "service-2.json")
	var r io.Reader
	if f, err := os.Open(base); err == nil {
		defer f.Close()
		r = f
	} else {
		f, err := os.Open(base + ".gz")
		if err != nil {
			t.Fatalf("botocore model of %s: %v", service, err)
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("botocore model of %s: %v", service, err)
		}
		r = zr
	}
	var m model
	if err := json.NewDecoder(r).Decode(&m); err != nil {
		t.Fatalf("decode the botocore model of %s: %v", service, err)
	}
	return &m
}

// outputShape is the name of operation's output shape; "" when it has none.
func (m *model) outputShape(operation string) string {
	op, ok := m.Operations[operation]
	if !ok || op.Output == nil {
		return ""
	}
	return op.Output.Shape
}

// jsonShape returns the shape of a JSON body walked along the model's
// shape (m nil or shape "": no model), and the paths of the members the
// model does not know or whose JSON type is not the one the model's type
// has on the wire ("CreatedDate: string, the model says number").
func jsonShape(body []byte, m *model, shape string) (paths, unknown []string, err error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil, nil
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, nil, fmt.Errorf("not JSON: %w: %.200s", err, body)
	}
	set := map[string]bool{}
	var unk []string
	var walk func(v any, path, shape string)
	walk = func(v any, path, shape string) {
		var s *modelShape
		if m != nil && shape != "" {
			if ms, ok := m.Shapes[shape]; ok {
				s = &ms
			}
		}
		p := strings.TrimPrefix(path, ".")
		set[p+" "+jsonType(v)] = true
		if s != nil {
			if want := wireType[s.Type]; want != "" && want != jsonType(v) && v != nil {
				unk = append(unk, p+": "+jsonType(v)+", the model says "+want)
			}
		}
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				switch {
				case s != nil && s.Type == "map":
					walk(e, path+".{}", s.Value.Shape)
				case s != nil && s.Type == "structure":
					mem, ok := s.Members[k]
					if !ok {
						unk = append(unk, strings.TrimPrefix(path+"."+k, "."))
					}
					walk(e, path+"."+k, mem.Shape)
				default:
					walk(e, path+"."+k, "")
				}
			}
		case []any:
			item := ""
			if s != nil && s.Member != nil {
				item = s.Member.Shape
			}
			for _, e := range v {
				walk(e, path+"[]", item)
			}
		}
	}
	walk(v, "", shape)
	delete(set, " object")
	return sortedKeys(set), unk, nil
}

// wireType is the JSON type of each model type in the JSON protocols
// (timestamps are epoch seconds, blobs base64 strings).
var wireType = map[string]string{
	"structure": "object", "map": "object", "list": "array",
	"string": "string", "blob": "string", "timestamp": "number",
	"integer": "number", "long": "number", "float": "number", "double": "number",
	"boolean": "boolean",
}

func jsonType(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// xmlShape returns the shape of an XML body, namespaces ignored.
func xmlShape(body []byte) ([]string, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	set := map[string]bool{}
	var stack []string
	var leaf []bool // per open element: no child element seen
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not XML: %w: %.200s", err, body)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if len(leaf) > 0 {
				leaf[len(leaf)-1] = false
			}
			stack = append(stack, tok.Name.Local)
			leaf = append(leaf, true)
		case xml.EndElement:
			kind := "element"
			if leaf[len(leaf)-1] {
				kind = "text"
			}
			set[strings.Join(stack, "/")+" "+kind] = true
			stack, leaf = stack[:len(stack)-1], leaf[:len(leaf)-1]
		}
	}
	return sortedKeys(set), nil
}

func sortedKeys(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// applyDeparture returns paths without lacks and with adds, sorted.
func applyDeparture(paths, lacks, adds []string) []string {
	set := map[string]bool{}
	for _, p := range paths {
		set[p] = true
	}
	for _, p := range lacks {
		delete(set, p)
	}
	for _, p := range adds {
		set[p] = true
	}
	return sortedKeys(set)
}

// subtract returns the paths of a not in b.
func subtract(a, b []string) []string {
	var out []string
	for _, p := range a {
		if !slices.Contains(b, p) {
			out = append(out, p)
		}
	}
	return out
}
