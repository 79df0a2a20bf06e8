package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/metrics/pkg/apis/external_metrics"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"
)

var (
	metricNameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	// Prometheus 2 label names; a Kubernetes label key such as app.kubernetes.io/name has no
	// PromQL spelling there, so a selector using one is refused rather than silently dropped.
	labelNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// prometheusProvider answers External metrics with instant queries against Prometheus.
type prometheusProvider struct {
	baseURL *url.URL
	client  *http.Client
	metrics []string
}

var _ provider.ExternalMetricsProvider = (*prometheusProvider)(nil)

func (p *prometheusProvider) ListAllExternalMetrics() []provider.ExternalMetricInfo {
	out := make([]provider.ExternalMetricInfo, 0, len(p.metrics))
	for _, m := range p.metrics {
		out = append(out, provider.ExternalMetricInfo{Metric: m})
	}
	return out
}

func (p *prometheusProvider) GetExternalMetric(ctx context.Context, namespace string, metricSelector labels.Selector,
	info provider.ExternalMetricInfo) (*external_metrics.ExternalMetricValueList, error) {
	query, err := buildQuery(info.Metric, namespace, metricSelector)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	samples, err := p.instantQuery(ctx, query)
	if err != nil {
		var bad *badQueryError
		if errors.As(err, &bad) {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("prometheus refused %s: %v", query, err))
		}
		return nil, apierrors.NewServiceUnavailable(fmt.Sprintf("prometheus query %s failed: %v", query, err))
	}
	return toExternalMetrics(info.Metric, samples), nil
}

// buildQuery turns a request into an instant PromQL query:
//
//	buildQuery("rps", "x", "tierlimit=t,tier in (a,b)")
//	  = `rps{namespace="x",tier=~"a|b",tierlimit="t"}`
//
// Requirements come sorted by key (labels.Selector's order). Gt and Lt have no label-matcher
// form and are refused.
func buildQuery(metric, namespace string, selector labels.Selector) (string, error) {
	if !metricNameRE.MatchString(metric) {
		return "", fmt.Errorf("%q is not a Prometheus metric name", metric)
	}
	matchers := []string{}
	if namespace != "" {
		matchers = append(matchers, "namespace="+strconv.Quote(namespace))
	}
	var reqs labels.Requirements
	if selector != nil {
		var selectable bool
		reqs, selectable = selector.Requirements()
		if !selectable {
			return "", fmt.Errorf("label selector %q selects nothing", selector.String())
		}
	}
	for _, r := range reqs {
		key := r.Key()
		if !labelNameRE.MatchString(key) {
			return "", fmt.Errorf("label %q has no PromQL label-name form", key)
		}
		values := r.Values().List() // sorted
		switch r.Operator() {
		case selection.Equals, selection.DoubleEquals:
			matchers = append(matchers, key+"="+strconv.Quote(values[0]))
		case selection.NotEquals:
			matchers = append(matchers, key+"!="+strconv.Quote(values[0]))
		case selection.In:
			matchers = append(matchers, key+"=~"+strconv.Quote(alternation(values)))
		case selection.NotIn:
			matchers = append(matchers, key+"!~"+strconv.Quote(alternation(values)))
		case selection.Exists:
			matchers = append(matchers, key+`!=""`)
		case selection.DoesNotExist:
			matchers = append(matchers, key+`=""`)
		default:
			return "", fmt.Errorf("label selector operator %q on %q has no PromQL label-matcher form", r.Operator(), key)
		}
	}
	return metric + "{" + strings.Join(matchers, ",") + "}", nil
}

// alternation matches exactly one of values: "a.b", "c" -> `a\.b|c` (Prometheus anchors it).
func alternation(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = regexp.QuoteMeta(v)
	}
	return strings.Join(quoted, "|")
}

// sample is one series of an instant vector.
type sample struct {
	labels map[string]string
	at     time.Time
	value  float64
}

// badQueryError is Prometheus refusing the query itself (HTTP 400/422, errorType bad_data):
// the client asked for something wrong, not a Prometheus outage.
type badQueryError struct{ msg string }

func (e *badQueryError) Error() string { return e.msg }

// instantQuery runs GET /api/v1/query?query=Q and returns the vector's samples.
func (p *prometheusProvider) instantQuery(ctx context.Context, query string) ([]sample, error) {
	u := p.baseURL.JoinPath("api/v1/query")
	u.RawQuery = url.Values{"query": {query}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	return parseQueryResponse(resp.StatusCode, body)
}

type queryResponse struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  []json.RawMessage `json:"value"`
		} `json:"result"`
	} `json:"data"`
}

func parseQueryResponse(status int, body []byte) ([]sample, error) {
	var r queryResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("HTTP %d, not a Prometheus API answer: %.200q", status, body)
	}
	if r.Status != "success" {
		msg := fmt.Sprintf("HTTP %d, %s: %s", status, r.ErrorType, r.Error)
		if r.ErrorType == "bad_data" || status == http.StatusBadRequest || status == http.StatusUnprocessableEntity {
			return nil, &badQueryError{msg}
		}
		return nil, errors.New(msg)
	}
	if r.Data.ResultType != "vector" {
		return nil, &badQueryError{fmt.Sprintf("expected an instant vector, got %q", r.Data.ResultType)}
	}
	out := make([]sample, 0, len(r.Data.Result))
	for _, s := range r.Data.Result {
		if len(s.Value) != 2 {
			return nil, fmt.Errorf("a sample of %v is not [time, value]", s.Metric)
		}
		var ts float64
		var text string
		if err := json.Unmarshal(s.Value[0], &ts); err != nil {
			return nil, fmt.Errorf("a sample time of %v: %v", s.Metric, err)
		}
		if err := json.Unmarshal(s.Value[1], &text); err != nil {
			return nil, fmt.Errorf("a sample value of %v: %v", s.Metric, err)
		}
		v, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, fmt.Errorf("a sample value of %v: %v", s.Metric, err)
		}
		sec, frac := math.Modf(ts)
		out = append(out, sample{labels: s.Metric, at: time.Unix(int64(sec), int64(frac*1e9)).UTC(), value: v})
	}
	return out, nil
}

// toExternalMetrics makes one ExternalMetricValue per series, milli precision. NaN and
// infinite values have no Quantity and are left out (an empty list is what the HPA sees as
// "no metrics"), as are values beyond int64 milli-units.
func toExternalMetrics(metric string, samples []sample) *external_metrics.ExternalMetricValueList {
	list := &external_metrics.ExternalMetricValueList{Items: []external_metrics.ExternalMetricValue{}}
	sort.SliceStable(samples, func(i, j int) bool {
		return labels.Set(samples[i].labels).String() < labels.Set(samples[j].labels).String()
	})
	for _, s := range samples {
		milli := math.Round(s.value * 1000)
		if math.IsNaN(milli) || math.IsInf(milli, 0) || math.Abs(milli) > math.MaxInt64/2 {
			continue
		}
		l := make(map[string]string, len(s.labels))
		for k, v := range s.labels {
			if k != "__name__" {
				l[k] = v
			}
		}
		list.Items = append(list.Items, external_metrics.ExternalMetricValue{
			MetricName:   metric,
			MetricLabels: l,
			Timestamp:    metav1.NewTime(s.at),
			Value:        *resource.NewMilliQuantity(int64(milli), resource.DecimalSI),
		})
	}
	return list
}
