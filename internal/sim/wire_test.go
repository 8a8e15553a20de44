package sim_test

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

// rawCall sends one hand-made request, as a client of another language would.
func rawCall(t *testing.T, url, path, service, region string, header map[string]string, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if service != "" {
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/"+region+"/"+service+"/aws4_request, SignedHeaders=host;x-amz-date, Signature=00")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestErrorShapes(t *testing.T) {
	env := simtest.Start(t, small(t))
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}

	t.Run("JSON 1.1", func(t *testing.T) {
		resp, body := rawCall(t, env.URL, "/", "organizations", "us-east-1",
			map[string]string{"X-Amz-Target": "AWSOrganizationsV20161128.DescribeAccount", "Content-Type": "application/x-amz-json-1.1"},
			`{"AccountId":"999999999999"}`)
		var got map[string]string
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("body %s: %v", body, err)
		}
		if resp.StatusCode != 400 || got["__type"] != "AccountNotFoundException" || got["message"] == "" {
			t.Errorf("status %d body %s: want 400 with __type AccountNotFoundException and a message", resp.StatusCode, body)
		}
		if resp.Header.Get("x-amzn-RequestId") == "" {
			t.Error("no x-amzn-RequestId header")
		}
	})
	t.Run("Query", func(t *testing.T) {
		resp, body := rawCall(t, env.URL, "/", "sts", "us-east-1", form,
			"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A555555555555%3Arole%2Fnone&RoleSessionName=s1")
		var got struct {
			XMLName xml.Name
			Error   struct{ Type, Code, Message string }
			ID      string `xml:"RequestId"`
		}
		if err := xml.Unmarshal(body, &got); err != nil {
			t.Fatalf("body %s: %v", body, err)
		}
		want := []string{http.StatusText(http.StatusForbidden), "https://sts.amazonaws.com/doc/2011-06-15/ ErrorResponse", "Sender", "AccessDenied", resp.Header.Get("x-amzn-RequestId")}
		gotRow := []string{http.StatusText(resp.StatusCode), got.XMLName.Space + " " + got.XMLName.Local, got.Error.Type, got.Error.Code, got.ID}
		if diff := cmp.Diff(want, gotRow); diff != "" {
			t.Errorf("Query error (-want +got):\n%s\n%s", diff, body)
		}
	})
	t.Run("EC2", func(t *testing.T) {
		resp, body := rawCall(t, env.URL, "/", "ec2", "us-east-1", form,
			"Action=DescribeRegions&Version=2016-11-15&RegionName.1=mars-north-1")
		var got struct {
			XMLName xml.Name
			Errors  []struct{ Code, Message string } `xml:"Errors>Error"`
			ID      string                           `xml:"RequestID"`
		}
		if err := xml.Unmarshal(body, &got); err != nil {
			t.Fatalf("body %s: %v", body, err)
		}
		if resp.StatusCode != 400 || got.XMLName.Local != "Response" || len(got.Errors) != 1 || got.Errors[0].Code != "InvalidParameterValue" || got.ID == "" {
			t.Errorf("status %d body %s: want 400 <Response><Errors><Error><Code>InvalidParameterValue", resp.StatusCode, body)
		}
	})
	t.Run("REST-JSON", func(t *testing.T) {
		resp, body := rawCall(t, env.URL, "/get-landingzone", "controltower", "us-east-1",
			map[string]string{"Content-Type": "application/json"}, `{"landingZoneIdentifier":"arn:aws:controltower:us-east-1:111111111111:landingzone/NOPE"}`)
		if resp.StatusCode != 404 || resp.Header.Get("X-Amzn-ErrorType") != "ResourceNotFoundException" || !strings.Contains(string(body), `"message"`) {
			t.Errorf("status %d, X-Amzn-ErrorType %q, body %s: want 404 ResourceNotFoundException with a message", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), body)
		}
	})
	t.Run("unsigned", func(t *testing.T) {
		resp, body := rawCall(t, env.URL, "/", "", "", map[string]string{"X-Amz-Target": "AmazonSSM.DescribeMaintenanceWindows", "Content-Type": "application/x-amz-json-1.1"}, `{}`)
		if resp.StatusCode != 403 || !strings.Contains(string(body), "MissingAuthenticationToken") {
			t.Errorf("status %d body %s: want 403 MissingAuthenticationToken", resp.StatusCode, body)
		}
	})
	t.Run("unknown operation", func(t *testing.T) {
		resp, body := rawCall(t, env.URL, "/", "sts", "us-east-1", form, "Action=GetSessionTokenX&Version=2011-06-15")
		if resp.StatusCode != 400 || !strings.Contains(string(body), "<Code>InvalidAction</Code>") {
			t.Errorf("status %d body %s: want 400 InvalidAction", resp.StatusCode, body)
		}
	})
	t.Run("target of another service", func(t *testing.T) {
		resp, body := rawCall(t, env.URL, "/", "ssm", "us-east-1",
			map[string]string{"X-Amz-Target": "AWSOrganizationsV20161128.ListAccounts", "Content-Type": "application/x-amz-json-1.1"}, `{}`)
		if resp.StatusCode != 400 || !strings.Contains(string(body), "UnknownOperationException") {
			t.Errorf("status %d body %s: want 400 UnknownOperationException", resp.StatusCode, body)
		}
	})
}
