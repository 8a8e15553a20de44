package sim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"

	"github.com/orgpatch/orgpatch/internal/sim/apierr"
	"github.com/orgpatch/orgpatch/internal/sim/smodel"
)

// The simulated CloudWatch alarms: PutMetricAlarm, DescribeAlarms and
// SetAlarmState. CloudWatch's model names Smithy RPC v2 CBOR its first
// protocol, and every client here speaks it: aws-sdk-go-v2's cloudwatch
// (v1.76.0), and botocore (so the AWS CLI v1 and boto3) since its model
// listed it first. Requests are POST
// /service/GraniteServiceVersion20100801/operation/OP with
// "Smithy-Protocol: rpc-v2-cbor"; answers are CBOR maps, errors a map with
// __type and message and, as the service is awsQueryCompatible, the Query
// error code in X-Amzn-Query-Error ("CODE;Sender"), which the clients
// report. The older Query protocol is not served.
//
// Alarms are kept per account x region by name. A new alarm starts in
// INSUFFICIENT_DATA ("Unchecked: Initial alarm creation"); putting an
// existing one again updates it and leaves its state, as the API reference
// says. The simulator never evaluates metrics: SetAlarmState is how an
// alarm leaves INSUFFICIENT_DATA. Only metric alarms on a single metric
// (MetricName, Namespace, Statistic or ExtendedStatistic, Period) are
// simulated; metric math and composite alarms are refused. Checks kept
// from the API reference: ComparisonOperator and EvaluationPeriods are
// required, Period is 10, 20, 30 or a multiple of 60, Statistic and
// ExtendedStatistic exclude each other; DescribeAlarms takes AlarmNames
// or AlarmNamePrefix (not both), StateValue, and pages by MaxRecords (1 to
// 100, default 50) in name order; SetAlarmState's StateReasonData must be
// JSON (InvalidFormat) and the alarm must exist (ResourceNotFound).

// ServiceCloudWatch is CloudWatch's signing name.
const ServiceCloudWatch = "monitoring"

// cloudWatchModel is the service model's name of CloudWatch.
const cloudWatchModel = "cloudwatch"

// cloudWatchPath is the RPC v2 path of CloudWatch's operations.
const cloudWatchPath = "/service/GraniteServiceVersion20100801/operation/"

// alarmStore holds the alarms of every account x region.
type alarmStore struct {
	mu     sync.Mutex
	alarms map[string]map[string]*alarm // account/region -> name
}

type alarm struct {
	name, arn, description                 string
	namespace, metric, statistic, extended string
	unit, comparison, treatMissing         string
	period, evaluationPeriods, datapoints  int64
	threshold                              float64
	dimensions                             []map[string]any
	actionsEnabled                         bool
	alarmActions, okActions, insufficient  []string
	state, reason, reasonData              string
	configured, stateUpdated, transitioned time.Time
}

// cloudWatch serves CloudWatch's alarm operations.
func (s *Server) cloudWatch(req *request) (any, error) {
	in, err := decodeCBORInput(req.body)
	if err != nil {
		return nil, err
	}
	if vs := smodel.ValidateValue(cloudWatchModel, req.op, in); len(vs) > 0 {
		return nil, apierr.BadRequest("ValidationError", "%s", smodel.Message(vs))
	}
	st := &s.alarms
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.alarms == nil {
		st.alarms = map[string]map[string]*alarm{}
	}
	key := req.caller.Account + "/" + req.region
	alarms := st.alarms[key]
	if alarms == nil {
		alarms = map[string]*alarm{}
		st.alarms[key] = alarms
	}
	switch req.op {
	case "PutMetricAlarm":
		return putMetricAlarm(req, in, alarms)
	case "DescribeAlarms":
		return describeAlarms(in, alarms)
	case "SetAlarmState":
		a := alarms[str(in, "AlarmName")]
		if a == nil {
			return nil, apierr.New(http.StatusNotFound, "ResourceNotFound", "alarm %s does not exist", str(in, "AlarmName"))
		}
		data := str(in, "StateReasonData")
		if data != "" && !json.Valid([]byte(data)) {
			return nil, apierr.BadRequest("InvalidFormat", "StateReasonData is not valid JSON")
		}
		if state := str(in, "StateValue"); state != a.state {
			a.state, a.transitioned = state, req.now
		}
		a.reason, a.reasonData, a.stateUpdated = str(in, "StateReason"), data, req.now
		return map[string]any{}, nil
	}
	return nil, apierr.BadRequest("UnknownOperationException", "the simulator does not implement %s of CloudWatch", req.op)
}

func putMetricAlarm(req *request, in map[string]any, alarms map[string]*alarm) (any, error) {
	missing := func(name string) error {
		return apierr.BadRequest("MissingParameter", "The parameter %s is required.", name)
	}
	switch {
	case in["Metrics"] != nil || in["ThresholdMetricId"] != nil || in["EvaluationCriteria"] != nil:
		return nil, apierr.BadRequest("InvalidParameterValue", "the simulator serves only alarms on a single metric (MetricName), not metric math or PromQL")
	case in["ComparisonOperator"] == nil:
		return nil, missing("ComparisonOperator")
	case in["EvaluationPeriods"] == nil:
		return nil, missing("EvaluationPeriods")
	case in["MetricName"] == nil:
		return nil, missing("MetricName")
	case in["Namespace"] == nil:
		return nil, missing("Namespace")
	case in["Period"] == nil:
		return nil, missing("Period")
	case in["Threshold"] == nil:
		return nil, missing("Threshold")
	case (in["Statistic"] == nil) == (in["ExtendedStatistic"] == nil):
		return nil, apierr.BadRequest("InvalidParameterCombination", "Exactly one of Statistic and ExtendedStatistic must be specified.")
	}
	period := num(in, "Period")
	if p := int64(period); float64(p) != period || !(p == 10 || p == 20 || p == 30 || (p > 0 && p%60 == 0)) {
		return nil, apierr.BadRequest("InvalidParameterValue", "The parameter Period must be 10, 20, 30 or a multiple of 60.")
	}
	name := str(in, "AlarmName")
	a := alarms[name]
	if a == nil {
		a = &alarm{name: name, arn: fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", req.region, req.caller.Account, name),
			state: "INSUFFICIENT_DATA", reason: "Unchecked: Initial alarm creation", stateUpdated: req.now, transitioned: req.now}
		alarms[name] = a
	}
	a.description, a.namespace, a.metric = str(in, "AlarmDescription"), str(in, "Namespace"), str(in, "MetricName")
	a.statistic, a.extended, a.unit = str(in, "Statistic"), str(in, "ExtendedStatistic"), str(in, "Unit")
	a.comparison, a.treatMissing = str(in, "ComparisonOperator"), str(in, "TreatMissingData")
	a.period, a.evaluationPeriods, a.datapoints = int64(period), int64(num(in, "EvaluationPeriods")), int64(num(in, "DatapointsToAlarm"))
	a.threshold = num(in, "Threshold")
	a.dimensions = nil
	for _, d := range list(in, "Dimensions") {
		if m, ok := d.(map[string]any); ok {
			a.dimensions = append(a.dimensions, m)
		}
	}
	a.actionsEnabled = true
	if v, ok := in["ActionsEnabled"].(bool); ok {
		a.actionsEnabled = v
	}
	a.alarmActions, a.okActions, a.insufficient = strs(in, "AlarmActions"), strs(in, "OKActions"), strs(in, "InsufficientDataActions")
	a.configured = req.now
	return map[string]any{}, nil
}

func describeAlarms(in map[string]any, alarms map[string]*alarm) (any, error) {
	names, prefix := strs(in, "AlarmNames"), str(in, "AlarmNamePrefix")
	if len(names) > 0 && prefix != "" {
		return nil, apierr.BadRequest("InvalidParameterCombination", "AlarmNames and AlarmNamePrefix cannot be specified together.")
	}
	if in["ChildrenOfAlarmName"] != nil || in["ParentsOfAlarmName"] != nil {
		return nil, apierr.BadRequest("InvalidParameterValue", "the simulator has no composite alarms")
	}
	types := strs(in, "AlarmTypes")
	if len(types) > 0 && !slices.Contains(types, "MetricAlarm") {
		return map[string]any{"MetricAlarms": []any{}, "CompositeAlarms": []any{}}, nil
	}
	maxRecords := 50
	if in["MaxRecords"] != nil {
		maxRecords = int(num(in, "MaxRecords")) // the model bounds it to 1..100
	}
	after := ""
	if tok := str(in, "NextToken"); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil {
			return nil, apierr.BadRequest("InvalidNextToken", "The service returned an invalid next token.")
		}
		after = string(raw)
	}
	state, action := str(in, "StateValue"), str(in, "ActionPrefix")
	var match []*alarm
	for _, name := range sortedKeys(alarms) {
		a := alarms[name]
		switch {
		case name <= after && after != "",
			len(names) > 0 && !slices.Contains(names, name),
			!strings.HasPrefix(name, prefix),
			state != "" && a.state != state,
			action != "" && !slices.ContainsFunc(slices.Concat(a.alarmActions, a.okActions, a.insufficient), func(s string) bool { return strings.HasPrefix(s, action) }):
			continue
		}
		match = append(match, a)
	}
	out := map[string]any{"CompositeAlarms": []any{}}
	if len(match) > maxRecords {
		match = match[:maxRecords]
		out["NextToken"] = base64.RawURLEncoding.EncodeToString([]byte(match[len(match)-1].name))
	}
	var metricAlarms []any
	for _, a := range match {
		metricAlarms = append(metricAlarms, a.describe())
	}
	out["MetricAlarms"] = metricAlarms
	return out, nil
}

// describe is the alarm as DescribeAlarms answers it.
func (a *alarm) describe() map[string]any {
	m := map[string]any{
		"AlarmName": a.name, "AlarmArn": a.arn, "AlarmConfigurationUpdatedTimestamp": a.configured,
		"ActionsEnabled": a.actionsEnabled, "OKActions": a.okActions, "AlarmActions": a.alarmActions,
		"InsufficientDataActions": a.insufficient, "StateValue": a.state, "StateReason": a.reason,
		"StateUpdatedTimestamp": a.stateUpdated, "StateTransitionedTimestamp": a.transitioned,
		"MetricName": a.metric, "Namespace": a.namespace, "Period": a.period,
		"EvaluationPeriods": a.evaluationPeriods, "Threshold": a.threshold, "ComparisonOperator": a.comparison,
	}
	dims := make([]any, len(a.dimensions))
	for i, d := range a.dimensions {
		dims[i] = d
	}
	m["Dimensions"] = dims
	for k, v := range map[string]string{"AlarmDescription": a.description, "Statistic": a.statistic, "ExtendedStatistic": a.extended,
		"Unit": a.unit, "TreatMissingData": a.treatMissing, "StateReasonData": a.reasonData} {
		if v != "" {
			m[k] = v
		}
	}
	if a.datapoints > 0 {
		m["DatapointsToAlarm"] = a.datapoints
	}
	return m
}

// str, num, list and strs read members of a decoded CBOR input.
func str(in map[string]any, k string) string {
	s, _ := in[k].(string)
	return s
}

func num(in map[string]any, k string) float64 {
	f, _ := in[k].(float64)
	return f
}

func list(in map[string]any, k string) []any {
	l, _ := in[k].([]any)
	return l
}

func strs(in map[string]any, k string) []string {
	var out []string
	for _, v := range list(in, k) {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// decodeCBORInput decodes an RPC v2 CBOR request body (empty: no members)
// into JSON-like Go values (maps, lists, strings, float64, bool,
// time.Time), the form smodel checks.
func decodeCBORInput(body []byte) (map[string]any, error) {
	if len(body) == 0 {
		return map[string]any{}, nil
	}
	v, err := cbor.Decode(body)
	if err != nil {
		return nil, apierr.BadRequest("SerializationException", "the request body is not CBOR: %v", err)
	}
	m, ok := fromCBOR(v).(map[string]any)
	if !ok {
		return nil, apierr.BadRequest("SerializationException", "the request body is not a CBOR map")
	}
	return m, nil
}

func fromCBOR(v cbor.Value) any {
	switch v := v.(type) {
	case cbor.Map:
		m := make(map[string]any, len(v))
		for k, e := range v {
			if _, null := e.(*cbor.Nil); !null {
				m[k] = fromCBOR(e)
			}
		}
		return m
	case cbor.List:
		l := make([]any, len(v))
		for i, e := range v {
			l[i] = fromCBOR(e)
		}
		return l
	case cbor.String:
		return string(v)
	case cbor.Uint:
		return float64(v)
	case cbor.NegInt:
		return -float64(v)
	case cbor.Float32:
		return float64(v)
	case cbor.Float64:
		return float64(v)
	case cbor.Bool:
		return bool(v)
	case cbor.Slice:
		return []byte(v)
	case *cbor.Tag:
		if t, err := cbor.AsTime(v); err == nil {
			return t
		}
	}
	return nil
}

// toCBOR encodes an answer built of maps, lists, strings, numbers, bools
// and times (tag 1, epoch seconds, as RPC v2 CBOR sends timestamps).
func toCBOR(v any) cbor.Value {
	switch v := v.(type) {
	case map[string]any:
		m := make(cbor.Map, len(v))
		for k, e := range v {
			m[k] = toCBOR(e)
		}
		return m
	case []any:
		l := make(cbor.List, len(v))
		for i, e := range v {
			l[i] = toCBOR(e)
		}
		return l
	case []string:
		l := make(cbor.List, len(v))
		for i, e := range v {
			l[i] = cbor.String(e)
		}
		return l
	case string:
		return cbor.String(v)
	case bool:
		return cbor.Bool(v)
	case int64:
		if v < 0 {
			return cbor.NegInt(-v) // smithy's NegInt(n) is -n
		}
		return cbor.Uint(v)
	case float64:
		return cbor.Float64(v)
	case time.Time:
		return &cbor.Tag{ID: 1, Value: cbor.Float64(float64(v.UnixMilli()) / 1e3)}
	}
	return &cbor.Nil{}
}

// cborErrorTypes names the model's error shape of each Query error code
// CloudWatch answers (the __type of the CBOR error body).
var cborErrorTypes = map[string]string{
	"InvalidParameterValue":       "InvalidParameterValueException",
	"MissingParameter":            "MissingRequiredParameterException",
	"InvalidParameterCombination": "InvalidParameterCombinationException",
	"LimitExceeded":               "LimitExceededFault",
	"InternalServiceError":        "InternalServiceFault",
}

// cborError is the body and X-Amzn-Query-Error header of an RPC v2 CBOR
// error answer.
func cborError(e *apierr.Error) (body []byte, queryError string) {
	typ := e.Code
	if t, ok := cborErrorTypes[e.Code]; ok {
		typ = t
	}
	fault := "Sender"
	if e.HTTPStatus() >= 500 {
		fault = "Receiver"
	}
	return cbor.Encode(cbor.Map{"__type": cbor.String("com.amazonaws.cloudwatch#" + typ), "message": cbor.String(e.Message)}), e.Code + ";" + fault
}
