package compliance

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// Previous is an earlier run's records, kept on disk and indexed by
// account x region, so that a run reads one target's previous records at a
// time: memory holds the targets in flight, not the organization. A run
// uses it to reuse patch lists of nodes not scanned since, to keep each
// patch's first-seen date and to extend the trend.
type Previous struct {
	f     *os.File
	spans map[[2]string][]span
	// RunId and Trend are the previous run's (its Run record): the trend
	// ends with that run.
	RunId string
	Trend []TrendPoint
}

type span struct{ off, n int64 }

// maxRecordLine bounds one record's line: a node with every patch of a
// large baseline missing stays well below it.
const maxRecordLine = 16 << 20

// LoadPrevious copies the records of non-compliant nodes that r holds
// (JSON Lines, gzip-compressed or not) into a temporary file in dir
// (os.TempDir when empty) and indexes them: only they are read again. A stream without a Run record is not a complete run and is refused.
// Close removes the file.
func LoadPrevious(r io.Reader, dir string) (*Previous, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("previous records: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 64<<10)
	}
	f, err := os.CreateTemp(dir, "orgpatch-previous-*.jsonl")
	if err != nil {
		return nil, fmt.Errorf("previous records: %w", err)
	}
	p := &Previous{f: f, spans: map[[2]string][]span{}}
	if err := p.index(br); err != nil {
		return nil, errors.Join(fmt.Errorf("previous records: %w", err), p.Close())
	}
	return p, nil
}

func (p *Previous) index(br *bufio.Reader) error {
	w := bufio.NewWriterSize(p.f, 64<<10)
	var off int64
	var head struct{ RecordType, Account, Region, RunId, Status string }
	complete := false
	for line := 1; ; line++ {
		b, err := br.ReadSlice('\n')
		for errors.Is(err, bufio.ErrBufferFull) { // a long line: gather it
			more := append([]byte(nil), b...)
			var rest []byte
			rest, err = br.ReadSlice('\n')
			b = append(more, rest...)
			if len(b) > maxRecordLine {
				return fmt.Errorf("line %d is longer than %d bytes", line, maxRecordLine)
			}
		}
		if len(bytes.TrimSpace(b)) > 0 {
			head.RecordType, head.Account, head.Region, head.Status = "", "", "", ""
			if jerr := json.Unmarshal(b, &head); jerr != nil {
				return fmt.Errorf("line %d: %w", line, jerr)
			}
			keep := false
			switch head.RecordType {
			case NodeRecord:
				// Only a non-compliant node's record is read again (its
				// patch lists and first-seen dates); the rest is not kept.
				if keep = head.Status == NonCompliant; !keep {
					break
				}
				k := [2]string{head.Account, head.Region}
				spans := p.spans[k]
				if n := len(spans); n > 0 && spans[n-1].off+spans[n-1].n == off {
					spans[n-1].n += int64(len(b))
				} else {
					p.spans[k] = append(spans, span{off, int64(len(b))})
				}
			case RunRecord:
				var run Record
				if jerr := json.Unmarshal(b, &run); jerr != nil {
					return fmt.Errorf("line %d: %w", line, jerr)
				}
				p.RunId, p.Trend, complete = run.RunId, run.Trend, true
			}
			if keep {
				if _, werr := w.Write(b); werr != nil {
					return werr
				}
				off += int64(len(b))
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if !complete {
		return errors.New("no Run record: not a complete run's records")
	}
	return w.Flush()
}

// target returns the previous records of account x region's non-compliant
// nodes, by node id; none when the previous run did not read it.
func (p *Previous) target(account, region string) (map[string]*Record, error) {
	if p == nil {
		return nil, nil
	}
	spans := p.spans[[2]string{account, region}]
	if len(spans) == 0 {
		return nil, nil
	}
	out := map[string]*Record{}
	for _, s := range spans {
		dec := json.NewDecoder(io.NewSectionReader(p.f, s.off, s.n))
		for dec.More() {
			r := new(Record)
			if err := dec.Decode(r); err != nil {
				return nil, fmt.Errorf("previous records of %s %s: %w", account, region, err)
			}
			out[r.ResourceId] = r
		}
	}
	return out, nil
}

// Close removes the temporary file.
func (p *Previous) Close() error {
	if p == nil || p.f == nil {
		return nil
	}
	err := p.f.Close()
	if rerr := os.Remove(p.f.Name()); err == nil {
		err = rerr
	}
	p.f = nil
	return err
}
