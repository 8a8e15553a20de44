package sim

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/orgpatch/orgpatch/internal/sim/apierr"
	"github.com/orgpatch/orgpatch/internal/sim/smodel"
)

// The simulated S3: buckets and objects in memory, path-style addressing
// (http://endpoint/BUCKET/KEY; virtual-hosted names are not resolved), the
// REST-XML protocol. It serves what the compliance report writes with:
// PutObject and the multipart upload (Create, UploadPart, Complete, Abort),
// plus CreateBucket, HeadBucket, GetObject, HeadObject and ListObjectsV2 to
// set up and read back. PutObject and CompleteMultipartUpload take S3's
// conditional writes (If-None-Match: *, If-Match: ETAG; see
// writePrecondition), GetObject and HeadObject If-Match and If-None-Match.
// Buckets are not versioned (the simulator has no PutBucketVersioning). Documented rules it keeps (S3 API reference and "Amazon S3
// multipart upload limits"): part numbers 1..10,000; every part but the last
// at least 5 MiB (EntityTooSmall at Complete); parts listed in ascending
// order (InvalidPartOrder) with the ETags UploadPart returned (InvalidPart);
// NoSuchUpload, NoSuchBucket, NoSuchKey; a multipart ETag is the MD5 of the
// parts' MD5s and "-N"; a checksum the client sends (x-amz-checksum-crc32
// or another algorithm, in a header or an aws-chunked trailer, or
// Content-MD5) must match the bytes (BadDigest); objects are encrypted at
// rest (SSE-S3, AES256), as new objects are by default.
//
// Checksums ("Checking object integrity" in the S3 User Guide): an object
// keeps the additional checksum it was uploaded with, or S3's default, a
// CRC64NVME the simulator computes, and GetObject and HeadObject answer it
// with x-amz-checksum-type when asked (x-amz-checksum-mode: ENABLED).
// A multipart upload takes its algorithm and type from
// CreateMultipartUpload (none: a full-object CRC64NVME); the object's
// checksum is computed over the whole object (FULL_OBJECT) or over the
// parts' checksums, with "-N" (COMPOSITE). The XXHASH algorithms are not
// computed (NotImplemented); GetObject's partNumber and Range, and the
// checksums in ListObjectsV2 and ListParts, are not simulated. Only the owning account may use a bucket
// (AccessDenied otherwise; the simulator has no bucket policies), and a
// request naming another ExpectedBucketOwner is refused (AccessDenied). Bodies are
// held in memory and bounded by s3MaxBody, far below S3's 5 GiB per part.

// ServiceS3 is S3's signing name.
const ServiceS3 = "s3"

// s3MaxBody bounds one S3 request body (a part or an object).
const s3MaxBody = 64 << 20

const (
	minPartSize = 5 << 20
	maxParts    = 10000
)

type s3Store struct {
	mu      sync.Mutex
	buckets map[string]*s3Bucket
	// unlocked, when set, runs while a conditional PutObject holds no lock
	// between its check and its commit: the window in which another write
	// makes it a ConditionalRequestConflict. Tests set it to race a write
	// into that window.
	unlocked func()
}

type s3Bucket struct {
	owner, region string
	created       time.Time
	objects       map[string]*object
	uploads       map[string]*upload
}

type object struct {
	data     []byte
	etag     string
	sum      s3Checksum
	modified time.Time
	ctype    string
	cenc     string // Content-Encoding, answered on GetObject
}

type upload struct {
	key     string
	ctype   string
	cenc    string
	sum     s3Checksum // the algorithm and type the object's checksum takes; no value
	chosen  bool       // the client named the algorithm (else S3's default)
	parts   map[int]part
	started time.Time
}

type part struct {
	data []byte
	etag string
	sum  string // the part's checksum in the upload's algorithm
}

// s3Response is an answer with its own status, headers and body.
type s3Response struct {
	status int
	header http.Header
	body   []byte
}

type s3Error struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	RequestID string   `xml:"RequestId"`
}

// s3Op names the operation of a path-style S3 request.
func s3Op(r *http.Request) (op, bucketName, key string, err error) {
	path := strings.TrimPrefix(r.URL.Path, "/")
	bucketName, key, _ = strings.Cut(path, "/")
	q := r.URL.Query()
	switch {
	case bucketName == "":
		return "", "", "", apierr.BadRequest("NotImplemented", "ListBuckets is not simulated")
	case key == "" && r.Method == http.MethodPut:
		op = "CreateBucket"
	case key == "" && r.Method == http.MethodHead:
		op = "HeadBucket"
	case r.Method == http.MethodHead && key != "":
		op = "HeadObject"
	case key == "" && r.Method == http.MethodGet && q.Get("list-type") == "2":
		op = "ListObjectsV2"
	case key == "":
		return "", "", "", apierr.BadRequest("NotImplemented", "%s /%s is not simulated", r.Method, bucketName)
	case r.Method == http.MethodPut && q.Has("uploadId"):
		op = "UploadPart"
	case r.Method == http.MethodPut:
		op = "PutObject"
	case r.Method == http.MethodPost && q.Has("uploads"):
		op = "CreateMultipartUpload"
	case r.Method == http.MethodPost && q.Has("uploadId"):
		op = "CompleteMultipartUpload"
	case r.Method == http.MethodDelete && q.Has("uploadId"):
		op = "AbortMultipartUpload"
	case r.Method == http.MethodGet:
		op = "GetObject"
	default:
		return "", "", "", apierr.BadRequest("NotImplemented", "%s /%s/%s is not simulated", r.Method, bucketName, key)
	}
	return op, bucketName, key, nil
}

// s3 serves one S3 operation.
func (s *Server) s3(req *request) (any, error) {
	r := req.http
	_, name, key, _ := s3Op(r) // parseOperation proved it parses
	q := r.URL.Query()
	in := map[string]any{"Bucket": name}
	if key != "" {
		in["Key"] = key
	}
	for _, k := range []string{"uploadId", "partNumber"} {
		if q.Has(k) {
			in[strings.ToUpper(k[:1])+k[1:]] = q.Get(k)
		}
	}
	if vs := smodel.ValidateValue(ServiceS3, req.op, in); len(vs) > 0 {
		return nil, apierr.BadRequest("InvalidArgument", "%s", smodel.Message(vs))
	}
	st := &s.s3state
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.buckets == nil {
		st.buckets = map[string]*s3Bucket{}
	}
	b := st.buckets[name]
	if req.op == "CreateBucket" {
		if b != nil {
			if b.owner == req.caller.Account {
				return nil, apierr.New(http.StatusConflict, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.")
			}
			return nil, apierr.New(http.StatusConflict, "BucketAlreadyExists", "The requested bucket name is not available.")
		}
		st.buckets[name] = &s3Bucket{owner: req.caller.Account, region: req.region, created: req.now, objects: map[string]*object{}, uploads: map[string]*upload{}}
		return &s3Response{status: http.StatusOK, header: http.Header{"Location": {"/" + name}}}, nil
	}
	if b == nil {
		return nil, apierr.New(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
	}
	if b.owner != req.caller.Account {
		return nil, apierr.New(http.StatusForbidden, "AccessDenied", "Access Denied")
	}
	// ExpectedBucketOwner (every operation but CreateBucket takes it): a
	// bucket owned by another account than the one named is refused with
	// 403 AccessDenied, as S3 documents ("Verifying bucket ownership").
	if want := r.Header.Get("X-Amz-Expected-Bucket-Owner"); want != "" && want != b.owner {
		return nil, apierr.New(http.StatusForbidden, "AccessDenied", "Access Denied")
	}
	switch req.op {
	case "HeadBucket":
		return &s3Response{status: http.StatusOK, header: http.Header{"X-Amz-Bucket-Region": {b.region}}}, nil
	case "PutObject":
		cur := b.objects[key]
		cond, err := writePrecondition(r, cur)
		if err != nil {
			return nil, err
		}
		// The body is read with the store unlocked, as S3 receives an
		// upload while other writes complete; a conditional write whose
		// key changed meanwhile is the conflict S3 answers 409.
		hook := st.unlocked
		st.mu.Unlock()
		if hook != nil && cond {
			hook()
		}
		data, sent, err := s3Body(r, req.body)
		st.mu.Lock()
		if err != nil {
			return nil, err
		}
		if cond && b.objects[key] != cur {
			return nil, conditionalConflict()
		}
		sum := s3Checksum{alg: defaultChecksum}
		if sent != nil {
			sum = *sent
		}
		sum.typ = fullObject
		if sum.value == "" {
			sum.value = checksumOf(sum.alg, data)
		}
		etag := quotedMD5(data)
		b.objects[key] = &object{data: data, etag: etag, sum: sum, modified: req.now, ctype: r.Header.Get("Content-Type"), cenc: contentEncoding(r)}
		h := http.Header{"Etag": {etag}, "X-Amz-Server-Side-Encryption": {"AES256"}}
		sum.setHeader(h, true)
		return &s3Response{status: http.StatusOK, header: h}, nil
	case "GetObject", "HeadObject":
		o := b.objects[key]
		if o == nil {
			return nil, apierr.New(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
		}
		if err := readPrecondition(r, o); err != nil {
			return nil, err
		}
		h := http.Header{"Etag": {o.etag}, "Last-Modified": {o.modified.UTC().Format(http.TimeFormat)},
			"Content-Length": {strconv.Itoa(len(o.data))}, "X-Amz-Server-Side-Encryption": {"AES256"}}
		if o.ctype != "" {
			h.Set("Content-Type", o.ctype)
		}
		if o.cenc != "" {
			h.Set("Content-Encoding", o.cenc)
		}
		// The checksum is answered only to a request asking for it, as the
		// GetObject and HeadObject references document (ChecksumMode).
		if strings.EqualFold(r.Header.Get("X-Amz-Checksum-Mode"), "ENABLED") {
			o.sum.setHeader(h, true)
		}
		return &s3Response{status: http.StatusOK, header: h, body: o.data}, nil
	case "ListObjectsV2":
		return b.list(q)
	case "CreateMultipartUpload":
		sum, chosen, err := uploadChecksum(r)
		if err != nil {
			return nil, err
		}
		id := base64.RawURLEncoding.EncodeToString([]byte(randomString(keyAlphabet, 48)))
		b.uploads[id] = &upload{key: key, ctype: r.Header.Get("Content-Type"), cenc: contentEncoding(r), sum: sum, chosen: chosen, parts: map[int]part{}, started: req.now}
		h := http.Header{"Content-Type": {"application/xml"}}
		if chosen {
			h.Set("X-Amz-Checksum-Algorithm", sum.alg)
			h.Set("X-Amz-Checksum-Type", sum.typ)
		}
		body, err := xml.Marshal(initiateResult{Bucket: name, Key: key, UploadID: id})
		if err != nil {
			return nil, err
		}
		return &s3Response{status: http.StatusOK, header: h, body: append([]byte(xml.Header), body...)}, nil
	}
	u := b.uploads[q.Get("uploadId")]
	if u == nil || u.key != key {
		return nil, apierr.New(http.StatusNotFound, "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.")
	}
	switch req.op {
	case "UploadPart":
		n, err := strconv.Atoi(q.Get("partNumber"))
		if err != nil || n < 1 || n > maxParts {
			return nil, apierr.BadRequest("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive")
		}
		data, sent, err := s3Body(r, req.body)
		if err != nil {
			return nil, err
		}
		// A part checksummed in another algorithm than the one the upload
		// was created with is refused with the message S3 sends (its code,
		// InvalidRequest, is the simulator's assumption); an upload
		// created without one (S3's CRC64NVME default) takes parts in any.
		if sent != nil && u.chosen && sent.alg != u.sum.alg {
			return nil, apierr.BadRequest("InvalidRequest", "Checksum Type mismatch occurred, expected checksum Type: %s, actual checksum Type: %s", strings.ToLower(u.sum.alg), strings.ToLower(sent.alg))
		}
		etag := quotedMD5(data)
		p := part{data: data, etag: etag, sum: checksumOf(u.sum.alg, data)}
		u.parts[n] = p
		h := http.Header{"Etag": {etag}, "X-Amz-Server-Side-Encryption": {"AES256"}}
		switch {
		case sent != nil:
			sent.setHeader(h, false)
		case u.chosen:
			s3Checksum{alg: u.sum.alg, value: p.sum}.setHeader(h, false)
		}
		return &s3Response{status: http.StatusOK, header: h}, nil
	case "AbortMultipartUpload":
		delete(b.uploads, q.Get("uploadId"))
		return &s3Response{status: http.StatusNoContent}, nil
	}
	// CompleteMultipartUpload. A failed precondition leaves the upload in
	// place, so that it can still be aborted (AWS does not say; assumed).
	if _, err := writePrecondition(r, b.objects[key]); err != nil {
		return nil, err
	}
	if t := r.Header.Get("X-Amz-Checksum-Type"); t != "" && t != u.sum.typ {
		return nil, apierr.BadRequest("BadDigest", "The upload was created using the %s checksum type. The complete request must use the same checksum type.", u.sum.typ)
	}
	var done completeRequest
	if err := xml.Unmarshal(req.body, &done); err != nil || len(done.Parts) == 0 {
		return nil, apierr.BadRequest("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	var data []byte
	sums := md5.New()
	composite := checksumAlgorithms[u.sum.alg]()
	for i, p := range done.Parts {
		if i > 0 && p.PartNumber <= done.Parts[i-1].PartNumber {
			return nil, apierr.BadRequest("InvalidPartOrder", "The list of parts was not in ascending order. Parts must be ordered by part number.")
		}
	}
	for i, p := range done.Parts {
		got, ok := u.parts[p.PartNumber]
		if !ok || strings.Trim(p.ETag, `"`) != strings.Trim(got.etag, `"`) || !p.checksumMatches(u.sum.alg, got.sum) {
			return nil, apierr.BadRequest("InvalidPart", "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not have matched the part's entity tag.")
		}
		if i < len(done.Parts)-1 && len(got.data) < minPartSize {
			return nil, apierr.BadRequest("EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.")
		}
		raw, _ := hex.DecodeString(strings.Trim(got.etag, `"`))
		sums.Write(raw)
		raw, _ = base64.StdEncoding.DecodeString(got.sum)
		composite.Write(raw)
		data = append(data, got.data...)
	}
	sum := u.sum
	if sum.typ == compositeType {
		sum.value = fmt.Sprintf("%s-%d", base64.StdEncoding.EncodeToString(composite.Sum(nil)), len(done.Parts))
	} else {
		sum.value = checksumOf(sum.alg, data)
	}
	if v := r.Header.Get(checksumHeader(sum.alg)); v != "" && v != sum.value {
		return nil, apierr.BadRequest("BadDigest", "The %s you specified did not match the calculated checksum.", sum.alg)
	}
	etag := fmt.Sprintf(`"%x-%d"`, sums.Sum(nil), len(done.Parts))
	b.objects[key] = &object{data: data, etag: etag, sum: sum, modified: req.now, ctype: u.ctype, cenc: u.cenc}
	delete(b.uploads, q.Get("uploadId"))
	return completeResult{Location: "/" + name + "/" + key, Bucket: name, Key: key, ETag: etag,
		Checksum: []xmlValue{{XMLName: xml.Name{Local: "Checksum" + sum.alg}, Value: sum.value}}, ChecksumType: sum.typ}, nil
}

// writePrecondition checks a write's If-None-Match and If-Match headers
// against the key's current object (nil: none), as the S3 User Guide's
// "How to prevent object overwrites with conditional writes" documents:
// If-None-Match: * fails with 412 PreconditionFailed when the key exists;
// If-Match: ETAG fails with 404 NoSuchKey when it does not and with 412
// when its ETag differs. It reports whether the write is conditional.
// S3 takes only "*" for If-None-Match on a write; another value, or both
// headers at once, is answered 501 NotImplemented here (the simulator's
// assumption: AWS documents the value, not the error). If-Match: * matches
// any current object, as RFC 9110 defines it.
func writePrecondition(r *http.Request, cur *object) (bool, error) {
	ifMatch, ifNone := r.Header.Get("If-Match"), r.Header.Get("If-None-Match")
	switch {
	case ifMatch == "" && ifNone == "":
		return false, nil
	case ifNone != "" && (ifNone != "*" || ifMatch != ""):
		return false, apierr.New(http.StatusNotImplemented, "NotImplemented", "A header you provided implies functionality that is not implemented")
	case ifNone == "*" && cur != nil:
		return false, preconditionFailed()
	case ifMatch != "" && cur == nil:
		return false, apierr.New(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
	case ifMatch != "" && !etagMatches(ifMatch, cur.etag):
		return false, preconditionFailed()
	}
	return true, nil
}

// readPrecondition checks GetObject's and HeadObject's If-Match (412
// PreconditionFailed unless the ETag matches) and If-None-Match (304 Not
// Modified when it does).
func readPrecondition(r *http.Request, o *object) error {
	if v := r.Header.Get("If-Match"); v != "" && !etagMatches(v, o.etag) {
		return preconditionFailed()
	}
	if v := r.Header.Get("If-None-Match"); v != "" && etagMatches(v, o.etag) {
		return apierr.New(http.StatusNotModified, "NotModified", "Not Modified")
	}
	return nil
}

// etagMatches reports whether a conditional header's list of entity tags
// (quoted or not, or "*") names etag.
func etagMatches(header, etag string) bool {
	for _, v := range strings.Split(header, ",") {
		v = strings.TrimPrefix(strings.TrimSpace(v), "W/")
		if v == "*" || strings.Trim(v, `"`) == strings.Trim(etag, `"`) {
			return true
		}
	}
	return false
}

func preconditionFailed() error {
	return apierr.New(http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
}

// conditionalConflict is S3's answer to a conditional write whose key
// another write changed while it was under way: retry it (for If-Match,
// with the object's new ETag).
func conditionalConflict() error {
	return apierr.New(http.StatusConflict, "ConditionalRequestConflict", "The conditional request cannot succeed due to a conflicting operation against this resource.")
}

type initiateResult struct {
	XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ InitiateMultipartUploadResult"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	UploadID string   `xml:"UploadId"`
}

type completeRequest struct {
	Parts []completedPart `xml:"Part"`
}

type completedPart struct {
	PartNumber int        `xml:"PartNumber"`
	ETag       string     `xml:"ETag"`
	Other      []xmlValue `xml:",any"` // ChecksumCRC32 and its siblings
}

// checksumMatches reports whether the part's checksum in alg, if the
// Complete request lists one, is sum.
func (p completedPart) checksumMatches(alg, sum string) bool {
	for _, v := range p.Other {
		if v.XMLName.Local == "Checksum"+alg && v.Value != sum {
			return false
		}
	}
	return true
}

// xmlValue is an element of any name holding text.
type xmlValue struct {
	XMLName xml.Name
	Value   string `xml:",chardata"`
}

type completeResult struct {
	XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CompleteMultipartUploadResult"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
	// Checksum holds the one ChecksumCRC32 (or sibling) element.
	Checksum     []xmlValue `xml:",any"`
	ChecksumType string     `xml:"ChecksumType"`
}

type listResult struct {
	XMLName               xml.Name    `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
	Name                  string      `xml:"Name"`
	Prefix                string      `xml:"Prefix"`
	KeyCount              int         `xml:"KeyCount"`
	MaxKeys               int         `xml:"MaxKeys"`
	IsTruncated           bool        `xml:"IsTruncated"`
	Contents              []listEntry `xml:"Contents"`
	ContinuationToken     string      `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string      `xml:"NextContinuationToken,omitempty"`
}

type listEntry struct {
	Key          string `xml:"Key"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int    `xml:"Size"`
	StorageClass string `xml:"StorageClass"`
}

// list answers ListObjectsV2: keys in order, MaxKeys (default and at most
// 1,000) per page, continued after the token's key.
func (b *s3Bucket) list(q url.Values) (any, error) {
	prefix := q.Get("prefix")
	maxKeys := 1000
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, apierr.BadRequest("InvalidArgument", "Provided max-keys not an integer or within integer range")
		}
		maxKeys = min(n, 1000)
	}
	after := ""
	if tok := q.Get("continuation-token"); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil {
			return nil, apierr.BadRequest("InvalidArgument", "The continuation token provided is incorrect")
		}
		after = string(raw)
	}
	var keys []string
	for k := range b.objects {
		if strings.HasPrefix(k, prefix) && k > after {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	out := listResult{Name: "", Prefix: prefix, MaxKeys: maxKeys, ContinuationToken: q.Get("continuation-token")}
	if len(keys) > maxKeys {
		out.IsTruncated = true
		keys = keys[:maxKeys]
		out.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(keys[len(keys)-1]))
	}
	for _, k := range keys {
		o := b.objects[k]
		out.Contents = append(out.Contents, listEntry{Key: k, LastModified: o.modified.UTC().Format("2006-01-02T15:04:05.000Z"), ETag: o.etag, Size: len(o.data), StorageClass: "STANDARD"})
	}
	out.KeyCount = len(out.Contents)
	return out, nil
}

// contentEncoding is the Content-Encoding S3 keeps as the object's
// metadata: the request's, without aws-chunked, which only frames the
// upload's body ("Using Content-Encoding" in the S3 guide).
func contentEncoding(r *http.Request) string {
	var keep []string
	for _, e := range strings.Split(r.Header.Get("Content-Encoding"), ",") {
		if e = strings.TrimSpace(e); e != "" && e != "aws-chunked" {
			keep = append(keep, e)
		}
	}
	return strings.Join(keep, ",")
}

func quotedMD5(b []byte) string {
	sum := md5.Sum(b)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

// s3Body returns the payload of a PutObject or UploadPart, decoded from
// aws-chunked when the client streamed it, and the additional checksum the
// client sent (nil: none), in a header or an aws-chunked trailer, checked
// against the payload as Content-MD5 is.
func s3Body(r *http.Request, body []byte) ([]byte, *s3Checksum, error) {
	sent := map[string]string{}
	for _, alg := range checksumNames {
		if v := r.Header.Get(checksumHeader(alg)); v != "" {
			sent[alg] = v
		}
	}
	if strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked") || strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-") {
		data, trailer, err := decodeChunked(body)
		if err != nil {
			return nil, nil, apierr.BadRequest("IncompleteBody", "The request body is not valid aws-chunked encoding: %v", err)
		}
		if dl := r.Header.Get("X-Amz-Decoded-Content-Length"); dl != "" && dl != strconv.Itoa(len(data)) {
			return nil, nil, apierr.BadRequest("IncompleteBody", "You did not provide the number of bytes specified by the x-amz-decoded-content-length header.")
		}
		for _, alg := range checksumNames {
			if v, ok := trailer[strings.ToLower(checksumHeader(alg))]; ok {
				sent[alg] = v
			}
		}
		body = data
	}
	if v := r.Header.Get("Content-Md5"); v != "" {
		sum := md5.Sum(body)
		if base64.StdEncoding.EncodeToString(sum[:]) != v {
			return nil, nil, apierr.BadRequest("BadDigest", "The Content-MD5 you specified did not match what we received.")
		}
	}
	// One additional checksum per request: the message is S3's, its code
	// (InvalidRequest) the simulator's assumption. A declared
	// x-amz-sdk-checksum-algorithm without its value is the 400 the
	// PutObject reference documents (InvalidRequest assumed likewise).
	switch len(sent) {
	case 0:
		if alg := r.Header.Get("X-Amz-Sdk-Checksum-Algorithm"); alg != "" {
			return nil, nil, apierr.BadRequest("InvalidRequest", "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found.")
		}
		return body, nil, nil
	case 1:
	default:
		return nil, nil, apierr.BadRequest("InvalidRequest", "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
	}
	var sum s3Checksum
	for alg, v := range sent {
		sum = s3Checksum{alg: alg, value: v}
	}
	if checksumAlgorithms[sum.alg] == nil {
		return nil, nil, apierr.New(http.StatusNotImplemented, "NotImplemented", "The simulator does not compute %s checksums; it takes %s", sum.alg, strings.Join(computedChecksums(), ", "))
	}
	if checksumOf(sum.alg, body) != sum.value {
		return nil, nil, apierr.BadRequest("BadDigest", "The %s you specified did not match the calculated checksum.", sum.alg)
	}
	return body, &sum, nil
}

// s3Checksum is an object's additional checksum: its algorithm (CRC32 and
// the others of checksumNames), its base64 value (a composite one ends in
// -N, N the number of parts) and its type, FULL_OBJECT or COMPOSITE.
type s3Checksum struct {
	alg, value, typ string
}

const (
	fullObject    = "FULL_OBJECT"
	compositeType = "COMPOSITE"
	// defaultChecksum is the checksum S3 computes for an object uploaded
	// without one ("Checking object integrity": CRC64NVME for new
	// objects, a single PutObject or a multipart upload).
	defaultChecksum = "CRC64NVME"
)

// checksumNames are the algorithms of S3's service model (ChecksumAlgorithm).
var checksumNames = []string{"CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256", "SHA512", "MD5", "XXHASH64", "XXHASH3", "XXHASH128"}

// crc64NVME is CRC-64/NVME's table: Go's crc64 is the reflected CRC with
// initial value and final XOR all ones, which with the NVMe polynomial
// 0xad93d23594c93659 (0x9a6c9329ac4bc9b5 reflected) is CRC-64/NVME
// exactly; TestS3DefaultChecksum checks its catalogued check value.
var crc64NVME = crc64.MakeTable(0x9a6c9329ac4bc9b5)

// checksumAlgorithms are those the standard library computes; the XXHASH
// ones are not simulated (NotImplemented).
var checksumAlgorithms = map[string]func() hash.Hash{
	"CRC32":     func() hash.Hash { return crc32.NewIEEE() },
	"CRC32C":    func() hash.Hash { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) },
	"CRC64NVME": func() hash.Hash { return crc64.New(crc64NVME) },
	"SHA1":      sha1.New,
	"SHA256":    sha256.New,
	"SHA512":    sha512.New,
	"MD5":       md5.New,
}

func computedChecksums() []string {
	var names []string
	for _, alg := range checksumNames {
		if checksumAlgorithms[alg] != nil {
			names = append(names, alg)
		}
	}
	return names
}

// checksumHeader is the header carrying alg's checksum.
func checksumHeader(alg string) string {
	return "X-Amz-Checksum-" + strings.ToLower(alg)
}

// checksumOf is data's checksum in alg (one of checksumAlgorithms), base64.
func checksumOf(alg string, data []byte) string {
	h := checksumAlgorithms[alg]()
	h.Write(data)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// setHeader answers the checksum (none when it has no value) in its
// header, and its type too when withType.
func (c s3Checksum) setHeader(h http.Header, withType bool) {
	if c.value == "" {
		return
	}
	h.Set(checksumHeader(c.alg), c.value)
	if withType {
		h.Set("X-Amz-Checksum-Type", c.typ)
	}
}

// uploadChecksum is the checksum a CreateMultipartUpload asks for
// (x-amz-checksum-algorithm and x-amz-checksum-type) and whether it named
// one. Without an algorithm the object gets S3's default, a full-object
// CRC64NVME; an algorithm without a type is COMPOSITE but CRC64NVME, which
// is only FULL_OBJECT; FULL_OBJECT is for the CRCs only (the S3 User
// Guide's "Checking object integrity" table). Refusals are InvalidRequest
// (the simulator's assumption), and a type without an algorithm is refused
// (assumed likewise).
func uploadChecksum(r *http.Request) (s3Checksum, bool, error) {
	alg, typ := strings.ToUpper(r.Header.Get("X-Amz-Checksum-Algorithm")), r.Header.Get("X-Amz-Checksum-Type")
	switch {
	case alg == "" && typ != "":
		return s3Checksum{}, false, apierr.BadRequest("InvalidRequest", "x-amz-checksum-type %s requires x-amz-checksum-algorithm", typ)
	case alg == "":
		return s3Checksum{alg: defaultChecksum, typ: fullObject}, false, nil
	case checksumAlgorithms[alg] == nil:
		return s3Checksum{}, false, apierr.BadRequest("InvalidRequest", "x-amz-checksum-algorithm %q is not one the simulator takes: %s", alg, strings.Join(computedChecksums(), ", "))
	case typ == "" && alg == "CRC64NVME":
		typ = fullObject
	case typ == "":
		typ = compositeType
	case typ != fullObject && typ != compositeType:
		return s3Checksum{}, false, apierr.BadRequest("InvalidRequest", "x-amz-checksum-type %q is not one of COMPOSITE, FULL_OBJECT", typ)
	}
	crc := strings.HasPrefix(alg, "CRC")
	if typ == fullObject && !crc || typ == compositeType && alg == "CRC64NVME" {
		return s3Checksum{}, false, apierr.BadRequest("InvalidRequest", "The %s checksum type cannot be used with the %s checksum algorithm.", typ, alg)
	}
	return s3Checksum{alg: alg, typ: typ}, true, nil
}

// decodeChunked decodes an aws-chunked body: hex-size[;chunk-signature=..]
// CRLF data CRLF, ..., a zero-size chunk, then trailer lines "name:value".
func decodeChunked(body []byte) ([]byte, map[string]string, error) {
	br := bufio.NewReader(bytes.NewReader(body))
	var out []byte
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, nil, fmt.Errorf("chunk header: %w", err)
		}
		sizeHex, _, _ := strings.Cut(strings.TrimSpace(line), ";")
		n, err := strconv.ParseInt(sizeHex, 16, 64)
		if err != nil || n < 0 {
			return nil, nil, fmt.Errorf("chunk size %q", sizeHex)
		}
		if n == 0 {
			break
		}
		chunk := make([]byte, n)
		if _, err := io.ReadFull(br, chunk); err != nil {
			return nil, nil, fmt.Errorf("chunk data: %w", err)
		}
		out = append(out, chunk...)
		if crlf, err := br.ReadString('\n'); err != nil || strings.TrimSpace(crlf) != "" {
			return nil, nil, fmt.Errorf("chunk not followed by CRLF")
		}
	}
	trailer := map[string]string{}
	for {
		line, err := br.ReadString('\n')
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			trailer[strings.ToLower(k)] = strings.TrimSpace(v)
		}
		if err != nil {
			break
		}
	}
	return out, trailer, nil
}
