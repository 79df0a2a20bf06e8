// sluice-metrics-adapter serves the External metrics API (external.metrics.k8s.io/v1beta1) from
// Prometheus, so kube-controller-manager's HPA controller on the local control plane can scale
// on a Prometheus series through the real API aggregation layer. Built on
// sigs.k8s.io/custom-metrics-apiserver; prometheus-adapter is not served by the module proxy.
//
//	sluice-metrics-adapter --prometheus-url http://127.0.0.1:9090 \
//	  --secure-port PORT --cert-dir DIR \
//	  --lister-kubeconfig KC --authentication-kubeconfig KC --authorization-kubeconfig KC \
//	  [--metric NAME]...
//
// GET .../namespaces/NS/METRIC?labelSelector=SEL runs the instant query
// METRIC{namespace="NS", <SEL as label matchers>} and returns one value per series.
package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"k8s.io/component-base/logs"
	"k8s.io/klog/v2"
	basecmd "sigs.k8s.io/custom-metrics-apiserver/pkg/cmd"
)

type adapter struct {
	basecmd.AdapterBase
	prometheusURL string
	metrics       []string
	queryTimeout  time.Duration
}

func main() {
	logs.InitLogs()
	defer logs.FlushLogs()

	a := &adapter{}
	a.Name = "sluice-metrics-adapter"
	flags := a.Flags()
	flags.StringVar(&a.prometheusURL, "prometheus-url", "",
		"base URL of the Prometheus HTTP API, e.g. http://127.0.0.1:9090 (required)")
	flags.StringArrayVar(&a.metrics, "metric", []string{"sluice_tierlimit_requests_per_second"},
		"an external metric name to list in discovery (repeatable); any valid name can be queried")
	flags.DurationVar(&a.queryTimeout, "query-timeout", 10*time.Second, "timeout of one Prometheus query")
	logs.AddFlags(flags)
	if err := flags.Parse(os.Args[1:]); err != nil {
		fail("bad flags: %v", err)
	}
	if flags.NArg() > 0 {
		fail("unexpected arguments: %v", flags.Args())
	}

	base, err := url.Parse(a.prometheusURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		fail("--prometheus-url must be an http(s) URL, got %q", a.prometheusURL)
	}
	for _, m := range a.metrics {
		if !metricNameRE.MatchString(m) {
			fail("--metric %q is not a Prometheus metric name", m)
		}
	}

	a.WithExternalMetrics(&prometheusProvider{
		baseURL: base,
		client:  &http.Client{Timeout: a.queryTimeout},
		metrics: a.metrics,
	})

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	klog.Infof("sluice-metrics-adapter: external metrics %v from %s", a.metrics, base)
	if err := a.Run(ctx); err != nil {
		fail("%v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "sluice-metrics-adapter: "+format+"\n", args...)
	logs.FlushLogs()
	os.Exit(1)
}
