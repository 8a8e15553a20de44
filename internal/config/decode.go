package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Decode reads a configuration file, JSON or YAML (told apart by the first
// character: "{" is JSON), and validates it. Fields the file leaves out keep
// Default()'s values; a windows list replaces the default windows entirely,
// and a field a window leaves out takes the per-window default (timezone
// America/New_York, 6 hours, cutoff 1, priority 1, concurrency "100", errors
// "1", timeout 3600). A field the configuration does not have is an error
// naming it. The error is a decode error, or a *ValidationError.
func Decode(data []byte) (Config, error) {
	c, err := decode(data)
	if err != nil {
		return Config{}, err
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// JSON is the configuration as canonical JSON: the same configuration always
// gives the same bytes, and Decode gives the configuration back. It is what a
// run stores so that later runs converge to the same configuration.
func (c Config) JSON() ([]byte, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode configuration: %w", err)
	}
	return b, nil
}

// decode is Decode without validation.
func decode(data []byte) (Config, error) {
	doc, err := toJSONValue(data)
	if err != nil {
		return Config{}, err
	}
	if doc == nil {
		return Config{}, errors.New("decode configuration: the document is empty; want an object")
	}
	top, ok := doc.(map[string]any)
	if !ok {
		return Config{}, fmt.Errorf("decode configuration: the document is %s; want an object", jsonKind(doc))
	}
	if unknown := unknownFields(top, reflect.TypeFor[Config](), ""); len(unknown) > 0 {
		return Config{}, fmt.Errorf("decode configuration: %w", &ValidationError{Problems: unknown})
	}

	c := Default()
	rawWindows, hasWindows := top["windows"]
	delete(top, "windows")
	rawRings := top["rings"]
	delete(top, "rings")
	if err := remarshal(top, &c, ""); err != nil {
		return Config{}, err
	}
	if c.Rings, err = decodeRings(rawRings); err != nil {
		return Config{}, err
	}
	if hasWindows {
		c.Windows = nil
		if rawWindows != nil {
			list, ok := rawWindows.([]any)
			if !ok {
				return Config{}, fmt.Errorf("decode configuration: windows is %s; want a list", jsonKind(rawWindows))
			}
			c.Windows = make([]Window, len(list))
			for i, raw := range list {
				c.Windows[i] = windowTemplate()
				if err := remarshal(raw, &c.Windows[i], fmt.Sprintf("windows[%d]", i)); err != nil {
					return Config{}, err
				}
			}
		}
	}
	return c, nil
}

// toJSONValue reads JSON or YAML into the values encoding/json produces.
func toJSONValue(data []byte) (any, error) {
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), " \t\r\n")
	var doc any
	if bytes.HasPrefix(trimmed, []byte("{")) {
		d := json.NewDecoder(bytes.NewReader(trimmed))
		d.UseNumber()
		if err := d.Decode(&doc); err != nil {
			return nil, fmt.Errorf("decode configuration JSON: %w", err)
		}
		if d.More() {
			return nil, errors.New("decode configuration JSON: data after the object")
		}
		return doc, nil
	}
	if err := yaml.Unmarshal(trimmed, &doc); err != nil {
		return nil, fmt.Errorf("decode configuration YAML: %w", err)
	}
	v, err := fromYAML(doc, "")
	if err != nil {
		return nil, fmt.Errorf("decode configuration YAML: %w", err)
	}
	return scalarsToStrings(v, reflect.TypeFor[Config]()), nil
}

// scalarsToStrings turns the numbers and booleans YAML reads unquoted
// (maxConcurrency: 100, tagValues: [2019]) into the strings the fields
// hold, following the struct type t.
func scalarsToStrings(v any, t reflect.Type) any {
	switch t.Kind() {
	case reflect.String:
		switch x := v.(type) {
		case int, int64, uint64:
			return fmt.Sprint(x)
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64)
		case bool:
			return strconv.FormatBool(x)
		}
	case reflect.Struct:
		if m, ok := v.(map[string]any); ok {
			fields := jsonFields(t)
			for k, item := range m {
				if ft, ok := fields[k]; ok {
					m[k] = scalarsToStrings(item, ft)
				}
			}
		}
	case reflect.Slice:
		if list, ok := v.([]any); ok {
			for i, item := range list {
				list[i] = scalarsToStrings(item, t.Elem())
			}
		}
	case reflect.Map:
		if m, ok := v.(map[string]any); ok {
			for k, item := range m {
				m[k] = scalarsToStrings(item, t.Elem())
			}
		}
	}
	return v
}

// fromYAML turns what yaml.v3 decodes into what encoding/json would, so that
// the json tags rule YAML files too.
func fromYAML(v any, path string) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, item := range v {
			x, err := fromYAML(item, joinPath(path, k))
			if err != nil {
				return nil, err
			}
			out[k] = x
		}
		return out, nil
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, item := range v {
			key, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("%s: key %v is not a string", orRoot(path), k)
			}
			x, err := fromYAML(item, joinPath(path, key))
			if err != nil {
				return nil, err
			}
			out[key] = x
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, item := range v {
			x, err := fromYAML(item, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	}
	return v, nil
}

// remarshal decodes a generic JSON value into dst, over what dst holds.
func remarshal(v any, dst any, path string) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("decode configuration: %s: %w", orRoot(path), err)
	}
	if err := json.Unmarshal(b, dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("decode configuration: %s: %s", joinPath(path, te.Field), typeProblem(te))
		}
		return fmt.Errorf("decode configuration: %s: %w", orRoot(path), err)
	}
	return nil
}

// unknownFields lists the keys of v that the struct type t has no json field
// for, recursively, as FieldErrors that name the allowed fields.
func unknownFields(v any, t reflect.Type, path string) []FieldError {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []FieldError
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return nil // a type error, which decoding reports
		}
		fields := jsonFields(t)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			ft, ok := fields[k]
			if !ok {
				names := make([]string, 0, len(fields))
				for n := range fields {
					names = append(names, n)
				}
				slices.Sort(names)
				out = append(out, FieldError{Field: joinPath(path, k), Problem: "is not a configuration field; allowed here: " + strings.Join(names, ", ")})
				continue
			}
			out = append(out, unknownFields(m[k], ft, joinPath(path, k))...)
		}
	case reflect.Slice:
		list, ok := v.([]any)
		if !ok {
			return nil
		}
		for i, item := range list {
			out = append(out, unknownFields(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
	}
	return out
}

// jsonFields maps the json names of a struct's fields to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = f.Type
	}
	return fields
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	if key == "" {
		return path
	}
	return path + "." + key
}

func orRoot(path string) string {
	if path == "" {
		return "configuration"
	}
	return path
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any, []string:
		return "a list"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, float64, int, int64, uint64:
		return "a number"
	case nil:
		return "null"
	}
	return fmt.Sprintf("a %T", v)
}

// typeProblem says what is wrong with a value of the wrong JSON type.
func typeProblem(te *json.UnmarshalTypeError) string {
	got := te.Value
	switch {
	case strings.HasPrefix(got, "number "):
		n := strings.TrimPrefix(got, "number ")
		if _, err := strconv.ParseInt(n, 10, 64); err == nil && te.Type.Kind() >= reflect.Int && te.Type.Kind() <= reflect.Int64 {
			return fmt.Sprintf("%s is out of range", n)
		}
		got = "the number " + n
	case got == "number":
		got = "a number"
	case got == "string":
		got = "a string"
	case got == "bool":
		got = "a boolean"
	case got == "array":
		got = "a list"
	case got == "object":
		got = "an object"
	}
	return fmt.Sprintf("is %s; want %s", got, goKind(te.Type))
}

func goKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Slice:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}
