package sim

import (
	"net/http"

	"github.com/orgpatch/orgpatch/internal/sim/apierr"
	"github.com/orgpatch/orgpatch/internal/sim/smodel"
)

type landingZoneSummary struct {
	Arn string `json:"arn"`
}

type landingZoneDetail struct {
	Arn                    string         `json:"arn"`
	Version                string         `json:"version"`
	LatestAvailableVersion string         `json:"latestAvailableVersion"`
	Status                 string         `json:"status"`
	DriftStatus            map[string]any `json:"driftStatus"`
	Manifest               map[string]any `json:"manifest"`
}

// controlTower serves AWS Control Tower's landing zone reads. The landing
// zone exists only in the management account and only in the home region.
func (s *Server) controlTower(req *request) (any, error) {
	if vs := smodel.Validate(ServiceControlTower, req.op, req.body); len(vs) > 0 {
		return nil, apierr.BadRequest("ValidationException", "%s", smodel.Message(vs))
	}
	if req.caller.Account != s.org.mgmt {
		return nil, apierr.New(http.StatusForbidden, "AccessDeniedException", "User: %s is not authorized to perform: controltower:%s", req.caller.ARN, req.op)
	}
	s.mu.RLock()
	lz := s.org.lz
	home := s.org.home
	s.mu.RUnlock()
	visible := lz != nil && req.region == home
	switch req.op {
	case "ListLandingZones":
		out := map[string]any{"landingZones": []landingZoneSummary{}}
		if visible {
			out["landingZones"] = []landingZoneSummary{{Arn: lz.ARN}}
		}
		return out, nil
	case "GetLandingZone":
		var in struct {
			LandingZoneIdentifier string `json:"landingZoneIdentifier"`
		}
		if err := decodeJSON(req.body, &in); err != nil {
			return nil, err
		}
		if !visible || in.LandingZoneIdentifier != lz.ARN {
			return nil, apierr.New(http.StatusNotFound, "ResourceNotFoundException", "Landing zone %s does not exist.", in.LandingZoneIdentifier)
		}
		return map[string]any{"landingZone": landingZoneDetail{
			Arn: lz.ARN, Version: lz.Version, LatestAvailableVersion: lz.Version, Status: "ACTIVE",
			DriftStatus: map[string]any{"status": "IN_SYNC"},
			Manifest: map[string]any{
				"governedRegions": lz.GovernedRegions,
				"organizationStructure": map[string]any{
					"security": map[string]any{"name": "Security"},
				},
				"centralizedLogging": map[string]any{"enabled": true},
				"securityRoles":      map[string]any{"enabled": true},
				"accessManagement":   map[string]any{"enabled": true},
			},
		}}, nil
	}
	return nil, apierr.New(http.StatusNotFound, "UnknownOperationException", "The simulator does not implement Control Tower %s.", req.op)
}
