package crosstest

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"
)

// Responses are compared across clients in a canonical form that keeps what
// a user of each client can see and drops what each client shows its own
// way:
//   - member names compare case-insensitively (Control Tower's wire names
//     are lower camel case, the Go SDK's fields upper camel case);
//   - absent, null, false, zero, "" and empty lists or maps are the same
//     (the Go SDK cannot tell them apart in its non-pointer fields);
//   - timestamps are "<time>" (epoch numbers in the CLI's JSON, datetimes in
//     boto3, time.Time in Go), credentials are "<secret>" and ids drawn at
//     random for every call "<id>";
//   - ResponseMetadata and the SDK's ResultMetadata are dropped.

var timeMembers = map[string]bool{
	"joinedtimestamp": true, "expiration": true, "createddate": true,
	"modifieddate": true, "lastmodifieddate": true,
	// the compliance report's reads
	"lastpingdatetime": true, "operationstarttime": true, "operationendtime": true,
	"executiontime": true, "launchtime": true, "lastmodified": true,
	// CloudFormation's stacks
	"creationtime": true,
	// CloudWatch's alarms
	"alarmconfigurationupdatedtimestamp": true, "stateupdatedtimestamp": true, "statetransitionedtimestamp": true,
}

// idMembers are the ids a service draws at random for every call
// (EventBridge's event ids), shown as "<id>".
var idMembers = map[string]bool{"eventid": true}

var secretMembers = map[string]bool{
	"accesskeyid": true, "secretaccesskey": true, "sessiontoken": true,
}

// canonJSON returns the canonical form of a decoded JSON value; nil when
// it counts as absent.
func canonJSON(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range v {
			lk := strings.ToLower(k)
			if lk == "responsemetadata" || lk == "resultmetadata" {
				continue
			}
			c := canonJSON(e)
			if c == nil {
				continue
			}
			switch {
			case timeMembers[lk]:
				c = "<time>"
			case secretMembers[lk]:
				c = "<secret>"
			case idMembers[lk]:
				c = "<id>"
			}
			out[lk] = c
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		if len(v) == 0 {
			return nil
		}
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = canonJSON(e)
		}
		return out
	case string:
		if v == "" {
			return nil
		}
		return v
	case bool:
		if !v {
			return nil
		}
		return v
	case float64:
		if v == 0 {
			return nil
		}
		return v
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return v.String()
		}
		return canonJSON(f)
	}
	return nil
}

// canonGo returns the canonical form of an SDK output value.
func canonGo(v any) any {
	return canonJSON(plainGo(reflect.ValueOf(v)))
}

var timeType = reflect.TypeOf(time.Time{})

// plainGo turns an SDK value into the JSON values a client would decode.
func plainGo(v reflect.Value) any {
	if !v.IsValid() {
		return nil
	}
	if v.Type() == timeType {
		if v.Interface().(time.Time).IsZero() {
			return nil
		}
		return "<time>"
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return plainGo(v.Elem())
	case reflect.Struct:
		out := map[string]any{}
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			if !f.IsExported() || f.Name == "ResultMetadata" {
				continue
			}
			out[f.Name] = plainGo(v.Field(i))
		}
		return out
	case reflect.Slice, reflect.Array:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = plainGo(v.Index(i))
		}
		return out
	case reflect.Map:
		out := map[string]any{}
		iter := v.MapRange()
		for iter.Next() {
			out[iter.Key().String()] = plainGo(iter.Value())
		}
		return out
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(v.Uint())
	case reflect.Float32, reflect.Float64:
		return v.Float()
	}
	return nil
}

// replaceStrings replaces every occurrence of each key of names inside the
// strings of v with its value.
func replaceStrings(v any, names map[string]string) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range v {
			out[k] = replaceStrings(e, names)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = replaceStrings(e, names)
		}
		return out
	case string:
		for from, to := range names {
			v = strings.ReplaceAll(v, from, to)
		}
		return v
	}
	return v
}
