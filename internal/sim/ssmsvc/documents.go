package ssmsvc

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"time"

	"github.com/orgpatch/orgpatch/internal/sim/apierr"
)

// document is an AWS-owned SSM document: the same in every account and
// region, its versions published by AWS (PublishDocumentVersion).
type document struct {
	name        string
	description string
	params      []documentParameter
	versions    []documentVersion // versions[i] is version i+1
}

type documentVersion struct {
	hash    string
	created time.Time
}

type documentParameter struct {
	Name         string `json:"Name"`
	Type         string `json:"Type"`
	Description  string `json:"Description,omitempty"`
	DefaultValue string `json:"DefaultValue,omitempty"`
}

// documentEpoch is when the simulated AWS published the documents' first
// versions: fixed, so answers are the same in every run.
var documentEpoch = time.Date(2018, 6, 1, 0, 0, 0, 0, time.UTC)

// awsDocuments are the AWS-owned documents orgpatch's tasks run. The
// parameter descriptions are the simulator's own words.
func awsDocuments() map[string]*document {
	docs := map[string]*document{
		"AWS-RunPatchBaseline": {
			name:        "AWS-RunPatchBaseline",
			description: "Scans for or installs patches from a patch baseline on a managed node.",
			params: []documentParameter{
				{Name: "Operation", Type: "String", Description: "(Required) Scan reports missing patches; Install installs them. Allowed values: Scan, Install."},
				{Name: "SnapshotId", Type: "String", Description: "(Optional) A GUID that keeps one patch baseline snapshot across calls.", DefaultValue: ""},
				{Name: "InstallOverrideList", Type: "String", Description: "(Optional) An https or s3 URL of a patch list that overrides the baseline.", DefaultValue: ""},
				{Name: "AssociationId", Type: "String", Description: "(Optional) The State Manager association that ran the document.", DefaultValue: ""},
				{Name: "BaselineOverride", Type: "String", Description: "(Optional) An https or s3 URL of patch baselines that override the defaults.", DefaultValue: ""},
				{Name: "RebootOption", Type: "String", Description: "(Optional) Whether to reboot after an Install. Allowed values: RebootIfNeeded, NoReboot.", DefaultValue: "RebootIfNeeded"},
			},
		},
		"AWS-UpdateSSMAgent": {
			name:        "AWS-UpdateSSMAgent",
			description: "Updates the SSM Agent to the given version, or the latest.",
			params: []documentParameter{
				{Name: "version", Type: "String", Description: "(Optional) The agent version to install; empty means the latest.", DefaultValue: ""},
				{Name: "allowDowngrade", Type: "String", Description: "(Optional) Whether an older version may be installed. Allowed values: true, false.", DefaultValue: "false"},
			},
		},
	}
	for _, d := range docs {
		d.publish(documentEpoch)
	}
	return docs
}

// publish adds a version whose hash depends only on the name and version
// number: stable across runs, different for every version.
func (d *document) publish(at time.Time) (int, string) {
	n := len(d.versions) + 1
	sum := sha256.Sum256([]byte(d.name + "#" + strconv.Itoa(n)))
	d.versions = append(d.versions, documentVersion{hash: hex.EncodeToString(sum[:]), created: at})
	return n, d.versions[n-1].hash
}

// version resolves $LATEST, $DEFAULT or a version number (AWS documents'
// default version is their latest).
func (d *document) version(v string) (int, bool) {
	switch v {
	case "", "$LATEST", "$DEFAULT":
		return len(d.versions), true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > len(d.versions) {
		return 0, false
	}
	return n, true
}

func (s *Service) document(name string) *document {
	s.docMu.RLock()
	defer s.docMu.RUnlock()
	return s.docs[name]
}

// PublishDocumentVersion publishes a new version of an AWS-owned document
// (AWS-RunPatchBaseline or AWS-UpdateSSMAgent), which becomes its latest and
// default version, and returns the new version number and Sha256 hash. It
// is how tests show that tasks follow a document's current hash.
func (s *Service) PublishDocumentVersion(name string) (version int, hash string, err error) {
	s.docMu.Lock()
	defer s.docMu.Unlock()
	d, ok := s.docs[name]
	if !ok {
		return 0, "", apierr.BadRequest("InvalidDocument", "Document with name %s does not exist.", name)
	}
	v, h := d.publish(time.Now().UTC())
	return v, h, nil
}

// DocumentHash returns the Sha256 hash of a document's latest version, ""
// for an unknown document.
func (s *Service) DocumentHash(name string) string {
	s.docMu.RLock()
	defer s.docMu.RUnlock()
	d, ok := s.docs[name]
	if !ok {
		return ""
	}
	return d.versions[len(d.versions)-1].hash
}

type describeDocumentInput struct {
	Name            string `json:"Name"`
	DocumentVersion string `json:"DocumentVersion"`
	VersionName     string `json:"VersionName"`
}

type documentDescription struct {
	Hash            string              `json:"Hash"`
	HashType        string              `json:"HashType"`
	Name            string              `json:"Name"`
	Owner           string              `json:"Owner"`
	CreatedDate     *epoch              `json:"CreatedDate"`
	Status          string              `json:"Status"`
	DocumentVersion string              `json:"DocumentVersion"`
	Description     string              `json:"Description"`
	Parameters      []documentParameter `json:"Parameters"`
	PlatformTypes   []string            `json:"PlatformTypes"`
	DocumentType    string              `json:"DocumentType"`
	SchemaVersion   string              `json:"SchemaVersion"`
	LatestVersion   string              `json:"LatestVersion"`
	DefaultVersion  string              `json:"DefaultVersion"`
	DocumentFormat  string              `json:"DocumentFormat"`
	Tags            []Tag               `json:"Tags"`
}

type describeDocumentOutput struct {
	Document documentDescription `json:"Document"`
}

func (s *Service) describeDocument(ctx Context, in *describeDocumentInput) (any, error) {
	s.docMu.RLock()
	defer s.docMu.RUnlock()
	d, ok := s.docs[documentName(in.Name)]
	if !ok {
		return nil, apierr.BadRequest("InvalidDocument", "Document with name %s does not exist.", in.Name)
	}
	n, ok := d.version(in.DocumentVersion)
	if !ok || in.VersionName != "" {
		// AWS-owned documents carry no version names.
		return nil, apierr.BadRequest("InvalidDocumentVersion", "Document %s has no version %s%s.", d.name, in.DocumentVersion, in.VersionName)
	}
	v := d.versions[n-1]
	latest := strconv.Itoa(len(d.versions))
	return describeDocumentOutput{Document: documentDescription{
		Hash: v.hash, HashType: "Sha256", Name: d.name, Owner: "Amazon", CreatedDate: stamp(v.created), Status: "Active",
		DocumentVersion: strconv.Itoa(n), Description: d.description, Parameters: slices.Clone(d.params),
		PlatformTypes: []string{"Windows", "Linux", "MacOS"}, DocumentType: "Command", SchemaVersion: "2.2",
		LatestVersion: latest, DefaultVersion: latest, DocumentFormat: "JSON", Tags: []Tag{},
	}}, nil
}
