package compliance

import (
	"cmp"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/names"
)

// hiveType is the Glue (Hive) type of a record field: the JSON SerDe
// matches names case-insensitively; times are ISO 8601 strings.
func hiveType(t reflect.Type) string {
	switch {
	case t == reflect.TypeFor[time.Time]():
		return "string"
	case t.Kind() == reflect.Pointer:
		return hiveType(t.Elem())
	case t.Kind() == reflect.Slice:
		return "array<" + hiveType(t.Elem()) + ">"
	case t.Kind() == reflect.Map:
		return "map<" + hiveType(t.Key()) + "," + hiveType(t.Elem()) + ">"
	case t.Kind() == reflect.Struct:
		var fields []string
		for _, c := range jsonColumns(t) {
			fields = append(fields, c[0]+":"+c[1])
		}
		return "struct<" + strings.Join(fields, ",") + ">"
	}
	if s, ok := map[reflect.Kind]string{reflect.String: "string", reflect.Int: "int", reflect.Int32: "int", reflect.Bool: "boolean"}[t.Kind()]; ok {
		return s
	}
	panic("no column type for " + t.String())
}

// jsonColumns are a struct's JSON fields, lower-cased, with their types.
func jsonColumns(t reflect.Type) [][2]string {
	var out [][2]string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		out = append(out, [2]string{strings.ToLower(cmp.Or(name, f.Name)), hiveType(f.Type)})
	}
	return out
}

// The Glue table the stack deploys reads every field of a record, in its
// type: names.ReportColumns cannot fall behind Record.
func TestTableColumnsAreTheRecord(t *testing.T) {
	want := jsonColumns(reflect.TypeFor[Record]())
	if diff := gocmp.Diff(want, names.ReportColumns); diff != "" {
		var b strings.Builder
		for _, c := range want {
			fmt.Fprintf(&b, "\t{%q, %q},\n", c[0], c[1])
		}
		t.Errorf("names.ReportColumns (-want +got):\n%s\nwant:\n%s", diff, b.String())
	}
}

// The stack's defaults are the report's.
func TestStackDefaultsAreTheReport(t *testing.T) {
	if got, want := names.DefaultReportSLADays, FormatSLADays(DefaultSLADays); got != want {
		t.Errorf("names.DefaultReportSLADays %q, want %q", got, want)
	}
	if got, want := names.DefaultReportOwnerTags, strings.Join(DefaultOwnerTagKeys, ","); got != want {
		t.Errorf("names.DefaultReportOwnerTags %q, want %q", got, want)
	}
}
