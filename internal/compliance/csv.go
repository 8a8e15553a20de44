package compliance

import (
	"encoding/csv"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// csvColumns are the export's columns: one row per node record, what a
// spreadsheet filters on.
var csvColumns = []string{"RunId", "CaptureTime", "Account", "AccountName", "OU", "Ring", "Region", "ResourceId", "ResourceType", "Name",
	"NodeState", "Status", "Severity", "OverallSeverity", "Platform", "PlatformName", "InstanceState", "AgentVersion", "OldAgent",
	"PingStatus", "LastScan", "LastScanAgeDays", "Stale", "Missing", "Failed", "PendingReboot", "Rejected", "SecurityNonCompliant",
	"PastSLA", "OldestPatchAgeDays", "Patches", "OwnerTags"}

// CSV is a Sink writing every node record as a row of CSV (other records
// are skipped), the header first; call the returned flush at the end.
func CSV(w io.Writer) (sink func(*Record) error, flush func() error) {
	cw := csv.NewWriter(w)
	header := false
	sink = func(r *Record) error {
		if !header {
			header = true
			if err := cw.Write(csvColumns); err != nil {
				return err
			}
		}
		if r.RecordType != NodeRecord {
			return nil
		}
		last, lastAge := "", ""
		if t := r.LastScan(); !t.IsZero() {
			last = t.UTC().Format(time.RFC3339)
		}
		if r.LastScanAgeDays != nil {
			lastAge = strconv.Itoa(*r.LastScanAgeDays)
		}
		var patches []string
		for _, p := range r.Patches() {
			patches = append(patches, p.Id+" "+p.State+" "+p.EffectiveSeverity+" "+strconv.Itoa(p.AgeDays)+"d")
		}
		var owners []string
		for _, k := range slices.Sorted(maps.Keys(r.OwnerTags)) {
			owners = append(owners, k+"="+r.OwnerTags[k])
		}
		return cw.Write([]string{r.RunId, r.CaptureTime.UTC().Format(time.RFC3339), r.Account, r.AccountName, r.OU, r.Ring, r.Region,
			r.ResourceId, r.ResourceType, r.Name, r.NodeState, r.Status, r.Severity, r.OverallSeverity, r.Platform, r.PlatformName,
			r.InstanceState, r.AgentVersion, strconv.FormatBool(r.OldAgent), r.PingStatus, last, lastAge, strconv.FormatBool(r.Stale),
			strconv.Itoa(len(r.MissingPatches)), strconv.Itoa(len(r.FailedPatches)), strconv.Itoa(len(r.PendingRebootPatches)),
			strconv.Itoa(len(r.RejectedPatches)), strconv.Itoa(r.SecurityNonCompliant), strconv.Itoa(r.PastSLA),
			strconv.Itoa(r.OldestPatchAgeDays), strings.Join(patches, "; "), strings.Join(owners, "; ")})
	}
	flush = func() error {
		cw.Flush()
		return cw.Error()
	}
	return sink, flush
}
