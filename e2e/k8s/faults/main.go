// kube-faults: a reverse proxy in front of kube-apiserver that injects the faults the e2e
// scenarios need, controlled over a plain-HTTP admin port:
//
//	POST /faults?status=429&count=5&retryAfter=1  the next 5 requests get a 429 (or 500, 503...)
//	POST /faults?latency=2s                      every request waits 2 s before it is proxied
//	POST /faults?dropWatches=now                 close every open watch stream now
//	POST /faults?dropWatchesEvery=3s             ... and again every 3 s (0 stops it)
//	POST /faults?match=canaryrollouts            limit status/latency faults to paths containing it
//	DELETE /faults                               clear every fault
//	GET /stats                                   requests seen, by verb and resource, as JSON
//
// The proxy serves TLS with the certificate it is given (the API server's own, so a kubeconfig
// differs only in its port) and forwards the client's Authorization header; clients
// authenticate with bearer tokens (client certificates end at the proxy).
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

type faults struct {
	mu         sync.Mutex
	status     int
	count      int
	retryAfter string
	latency    time.Duration
	match      string
	watches    map[int]context.CancelFunc
	nextWatch  int
	dropTicker *time.Ticker
	dropStop   chan struct{}
	stats      map[string]int
	injected   int
	dropped    int
}

func newFaults() *faults {
	return &faults{watches: map[int]context.CancelFunc{}, stats: map[string]int{}}
}

// verbOf names a request the way the API server's audit log does: get/list/watch/create/...
func verbOf(r *http.Request) string {
	q := r.URL.Query()
	switch r.Method {
	case http.MethodGet:
		if q.Get("watch") == "true" || q.Get("watch") == "1" {
			return "watch"
		}
		if isCollection(r.URL.Path) {
			return "list"
		}
		return "get"
	case http.MethodPost:
		return "create"
	case http.MethodPut:
		return "update"
	case http.MethodPatch:
		return "patch"
	case http.MethodDelete:
		return "delete"
	}
	return strings.ToLower(r.Method)
}

// isCollection: /api/v1/[namespaces/NS/]RES or /apis/GROUP/VERSION/[namespaces/NS/]RES.
func isCollection(path string) bool {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) >= 2 && parts[len(parts)-2] == "namespaces" && len(parts) > 3 {
		// .../namespaces/NS is a namespace object, not a collection
		return false
	}
	base := 3
	if len(parts) > 0 && parts[0] == "apis" {
		base = 4
	}
	if len(parts) >= base+2 && parts[base-1] == "namespaces" {
		return len(parts) == base+2
	}
	return len(parts) == base
}

// resourceOf is the path's resource segment (with /status or another subresource), or the path.
func resourceOf(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	for i, p := range parts {
		if p == "namespaces" && i+2 < len(parts) {
			parts = append(parts[:i], parts[i+2:]...)
			break
		}
	}
	// /api/v1/RES[/NAME[/SUB]] or /apis/GROUP/VERSION/RES[/NAME[/SUB]]
	base := 2
	if len(parts) > 0 && parts[0] == "apis" {
		base = 3
	}
	if len(parts) <= base {
		return path
	}
	res := parts[base]
	if len(parts) > base+2 {
		res += "/" + parts[base+2]
	}
	return res
}

func (f *faults) isWatch(r *http.Request) bool {
	w := r.URL.Query().Get("watch")
	return r.Method == http.MethodGet && (w == "true" || w == "1")
}

func (f *faults) proxy(upstream *httputil.ReverseProxy) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.stats[verbOf(r)+" "+resourceOf(r.URL.Path)]++
		latency := f.latency
		inject := 0
		retryAfter := f.retryAfter
		if f.count > 0 && (f.match == "" || strings.Contains(r.URL.Path, f.match)) {
			f.count--
			inject = f.status
			f.injected++
		}
		if f.match != "" && !strings.Contains(r.URL.Path, f.match) {
			latency = 0
		}
		f.mu.Unlock()

		if latency > 0 {
			select {
			case <-time.After(latency):
			case <-r.Context().Done():
				return
			}
		}
		if inject != 0 {
			writeStatus(w, inject, retryAfter)
			return
		}
		if !f.isWatch(r) {
			upstream.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithCancel(r.Context())
		f.mu.Lock()
		id := f.nextWatch
		f.nextWatch++
		f.watches[id] = cancel
		f.mu.Unlock()
		defer func() {
			f.mu.Lock()
			delete(f.watches, id)
			f.mu.Unlock()
			cancel()
		}()
		upstream.ServeHTTP(w, r.WithContext(ctx))
	})
}

// writeStatus answers like kube-apiserver: a Status object with the matching reason.
func writeStatus(w http.ResponseWriter, code int, retryAfter string) {
	reason := map[int]string{429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable",
		504: "Timeout", 409: "Conflict"}[code]
	if reason == "" {
		reason = "Unknown"
	}
	if retryAfter != "" && (code == 429 || code == 503) {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code, "reason": reason,
		"message": fmt.Sprintf("kube-faults: injected %d", code),
	})
}

func (f *faults) dropAll() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.watches)
	for _, cancel := range f.watches {
		cancel()
	}
	f.dropped += n
	return n
}

func (f *faults) setDropEvery(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dropStop != nil {
		close(f.dropStop)
		f.dropTicker.Stop()
		f.dropStop, f.dropTicker = nil, nil
	}
	if d <= 0 {
		return
	}
	f.dropTicker = time.NewTicker(d)
	f.dropStop = make(chan struct{})
	go func(t *time.Ticker, stop chan struct{}) {
		for {
			select {
			case <-t.C:
				f.dropAll()
			case <-stop:
				return
			}
		}
	}(f.dropTicker, f.dropStop)
}

func (f *faults) admin(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/stats" && r.Method == http.MethodGet:
		f.mu.Lock()
		out := map[string]any{"requests": f.stats, "injected": f.injected, "watchesDropped": f.dropped,
			"openWatches": len(f.watches)}
		data, _ := json.Marshal(out)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(data)
	case r.URL.Path == "/faults" && r.Method == http.MethodDelete:
		f.setDropEvery(0)
		f.mu.Lock()
		f.status, f.count, f.latency, f.match, f.retryAfter = 0, 0, 0, "", ""
		f.mu.Unlock()
		fmt.Fprintln(w, "cleared")
	case r.URL.Path == "/faults" && r.Method == http.MethodPost:
		q := r.URL.Query()
		f.mu.Lock()
		if v := q.Get("status"); v != "" {
			code, err := strconv.Atoi(v)
			if err != nil || code < 400 || code > 599 {
				f.mu.Unlock()
				http.Error(w, "status: want a 4xx or 5xx code", http.StatusBadRequest)
				return
			}
			f.status, f.count = code, 1
			if c := q.Get("count"); c != "" {
				f.count, _ = strconv.Atoi(c)
			}
			f.retryAfter = q.Get("retryAfter")
		}
		if v := q.Get("latency"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				f.mu.Unlock()
				http.Error(w, "latency: "+err.Error(), http.StatusBadRequest)
				return
			}
			f.latency = d
		}
		if q.Has("match") {
			f.match = q.Get("match")
		}
		f.mu.Unlock()
		if q.Get("dropWatches") != "" {
			fmt.Fprintf(w, "dropped %d watches\n", f.dropAll())
		}
		if v := q.Get("dropWatchesEvery"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				http.Error(w, "dropWatchesEvery: "+err.Error(), http.StatusBadRequest)
				return
			}
			f.setDropEvery(d)
		}
		fmt.Fprintln(w, "ok")
	default:
		http.NotFound(w, r)
	}
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address the proxy serves TLS on")
	adminAddr := flag.String("admin", "127.0.0.1:0", "address of the plain-HTTP admin API")
	upstreamURL := flag.String("upstream", "", "kube-apiserver URL, e.g. https://127.0.0.1:6443")
	caFile := flag.String("ca", "", "CA that signed kube-apiserver's serving certificate")
	certFile := flag.String("cert", "", "serving certificate for the proxy")
	keyFile := flag.String("key", "", "serving key for the proxy")
	portsFile := flag.String("ports-file", "", "write 'PROXY_PORT ADMIN_PORT' here once listening")
	flag.Parse()
	if *upstreamURL == "" || *caFile == "" || *certFile == "" || *keyFile == "" {
		log.Fatal("kube-faults: --upstream, --ca, --cert and --key are required")
	}
	target, err := url.Parse(*upstreamURL)
	if err != nil {
		log.Fatalf("kube-faults: --upstream: %v", err)
	}
	caPEM, err := os.ReadFile(*caFile)
	if err != nil {
		log.Fatalf("kube-faults: --ca: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		log.Fatalf("kube-faults: --ca %s holds no certificate", *caFile)
	}
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		log.Fatalf("kube-faults: --cert/--key: %v", err)
	}

	upstream := httputil.NewSingleHostReverseProxy(target)
	upstream.FlushInterval = -1 // stream watch events as they come
	upstream.Transport = &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 64,
		ForceAttemptHTTP2:   false,
	}
	upstream.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		if r.Context().Err() != nil {
			return // the client went away or the watch was dropped on purpose
		}
		log.Printf("kube-faults: upstream %s %s: %v", r.Method, r.URL.Path, err)
		writeStatus(w, http.StatusBadGateway, "")
	}

	f := newFaults()
	pl, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("kube-faults: --listen: %v", err)
	}
	al, err := net.Listen("tcp", *adminAddr)
	if err != nil {
		log.Fatalf("kube-faults: --admin: %v", err)
	}
	proxyServer := &http.Server{Handler: f.proxy(upstream),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12,
			NextProtos: []string{"http/1.1"}}}
	adminServer := &http.Server{Handler: http.HandlerFunc(f.admin), ReadHeaderTimeout: 5 * time.Second}
	if *portsFile != "" {
		ports := fmt.Sprintf("%d %d\n", pl.Addr().(*net.TCPAddr).Port, al.Addr().(*net.TCPAddr).Port)
		if err := os.WriteFile(*portsFile, []byte(ports), 0o644); err != nil {
			log.Fatalf("kube-faults: --ports-file: %v", err)
		}
	}
	log.Printf("kube-faults: proxy %s -> %s, admin http://%s", pl.Addr(), target, al.Addr())
	go func() { log.Fatal(adminServer.Serve(al)) }()
	log.Fatal(proxyServer.ServeTLS(pl, "", ""))
}
