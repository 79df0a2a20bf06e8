package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"
)

func TestBuildQuery(t *testing.T) {
	for _, tc := range []struct {
		metric, namespace, selector, want, wantErr string
	}{
		{"rps", "x", "tierlimit=t", `rps{namespace="x",tierlimit="t"}`, ""},
		{"rps", "x", "", `rps{namespace="x"}`, ""},
		{"rps", "", "a==b", `rps{a="b"}`, ""},
		{"rps", "x", "a!=b", `rps{namespace="x",a!="b"}`, ""},
		{"rps", "x", "tier in (premium,free.v2)", `rps{namespace="x",tier=~"free\\.v2|premium"}`, ""},
		{"rps", "x", "tier notin (a)", `rps{namespace="x",tier!~"a"}`, ""},
		{"rps", "x", "tier,!gone", `rps{namespace="x",gone="",tier!=""}`, ""},
		{"rps", `we"ird\`, "", `rps{namespace="we\"ird\\"}`, ""},
		{"rps", "x", "n>3", "", "no PromQL label-matcher form"},
		{"rps", "x", "app.kubernetes.io/name=a", "", "no PromQL label-name form"},
		{"rps}or{", "x", "", "", "not a Prometheus metric name"},
	} {
		sel, err := labels.Parse(tc.selector)
		if err != nil {
			t.Fatalf("%q: %v", tc.selector, err)
		}
		got, err := buildQuery(tc.metric, tc.namespace, sel)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s %q: got %q, %v; want an error with %q", tc.metric, tc.selector, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s %q: got %q, %v; want %q", tc.metric, tc.selector, got, err, tc.want)
		}
	}
}

// fakePrometheus answers /api/v1/query with body and status, and records the query.
func fakePrometheus(t *testing.T, status int, body string, query *string) *prometheusProvider {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/prom/api/v1/query" {
			t.Errorf("path %s", r.URL.Path)
		}
		*query = r.URL.Query().Get("query")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	base, _ := url.Parse(srv.URL + "/prom")
	return &prometheusProvider{baseURL: base, client: srv.Client(), metrics: []string{"rps"}}
}

func TestGetExternalMetric(t *testing.T) {
	var query string
	p := fakePrometheus(t, 200, `{"status":"success","data":{"resultType":"vector","result":[
	  {"metric":{"__name__":"rps","namespace":"x","tierlimit":"t"},"value":[1700000000.25,"600"]},
	  {"metric":{"namespace":"x","tierlimit":"t","tier":"a"},"value":[1700000000.25,"0.0015"]},
	  {"metric":{"namespace":"x","tierlimit":"t","tier":"b"},"value":[1700000000.25,"NaN"]}]}}`, &query)
	sel, _ := labels.Parse("tierlimit=t")
	list, err := p.GetExternalMetric(context.Background(), "x", sel, provider.ExternalMetricInfo{Metric: "rps"})
	if err != nil {
		t.Fatal(err)
	}
	if query != `rps{namespace="x",tierlimit="t"}` {
		t.Errorf("query %q", query)
	}
	if len(list.Items) != 2 {
		t.Fatalf("got %d items, want 2 (NaN left out): %+v", len(list.Items), list.Items)
	}
	first := list.Items[0]
	if first.MetricName != "rps" || first.Value.MilliValue() != 600000 || first.Value.String() != "600" ||
		len(first.MetricLabels) != 2 || first.MetricLabels["tierlimit"] != "t" {
		t.Errorf("first %+v (%s)", first, first.Value.String())
	}
	if !first.Timestamp.Time.Equal(time.Unix(1700000000, 250000000)) {
		t.Errorf("timestamp %v", first.Timestamp)
	}
	if got := list.Items[1].Value.String(); got != "2m" { // 0.0015 rounds to 2 milli
		t.Errorf("second value %s", got)
	}
}

func TestPrometheusErrorsBecomeAPIErrors(t *testing.T) {
	var query string
	bad := fakePrometheus(t, 400, `{"status":"error","errorType":"bad_data","error":"parse error"}`, &query)
	_, err := bad.GetExternalMetric(context.Background(), "x", labels.Everything(), provider.ExternalMetricInfo{Metric: "rps"})
	if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), "parse error") {
		t.Errorf("bad_data: %v", err)
	}

	down := fakePrometheus(t, 503, `<html>unavailable</html>`, &query)
	_, err = down.GetExternalMetric(context.Background(), "x", labels.Everything(), provider.ExternalMetricInfo{Metric: "rps"})
	if !apierrors.IsServiceUnavailable(err) || !strings.Contains(err.Error(), "HTTP 503") {
		t.Errorf("503: %v", err)
	}

	base, _ := url.Parse("http://127.0.0.1:1")
	gone := &prometheusProvider{baseURL: base, client: &http.Client{Timeout: time.Second}}
	_, err = gone.GetExternalMetric(context.Background(), "x", labels.Everything(), provider.ExternalMetricInfo{Metric: "rps"})
	if !apierrors.IsServiceUnavailable(err) || !strings.Contains(err.Error(), "prometheus query") {
		t.Errorf("unreachable: %v", err)
	}

	sel, _ := labels.Parse("n>3")
	_, err = bad.GetExternalMetric(context.Background(), "x", sel, provider.ExternalMetricInfo{Metric: "rps"})
	if !apierrors.IsBadRequest(err) {
		t.Errorf("Gt selector: %v", err)
	}
}
