package gitops

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// go test ./... -run TestFixtures -args -dir=DIR checks another fixture directory (the e2e
// scenario's) instead of testdata.
var fixtureDir = flag.String("dir", "testdata", "directory of objects and expect.json")

func checked(t *testing.T) []Result {
	t.Helper()
	results, err := CheckDir(*fixtureDir)
	if err != nil {
		t.Fatalf("reading fixtures: %v", err)
	}
	return results
}

// Every fixture (a real object the operator wrote) reads as expect.json says, in kstatus and
// in the Argo CD health checks.
func TestFixtures(t *testing.T) {
	for _, r := range checked(t) {
		r := r
		t.Run(strings.TrimSuffix(r.File, ".json"), func(t *testing.T) {
			t.Logf("%s: kstatus %s (%s); Argo CD %s (%s)", r.Situation, r.Kstatus.Status,
				r.Kstatus.Message, r.Argocd.Status, r.Argocd.Message)
			for _, p := range r.Problems {
				t.Errorf("%s (%s): %s", r.File, r.Expect.Why, p)
			}
		})
	}
}

// The committed fixtures show every state of every kind, and between them every kstatus and
// Argo CD status Sluice is meant to produce, so no mapping goes untested.
func TestFixturesCoverEveryState(t *testing.T) {
	if *fixtureDir != "testdata" {
		t.Skip("coverage is required of the committed fixtures only")
	}
	results := checked(t)
	if missing := MissingSituations(results); len(missing) > 0 {
		t.Errorf("no fixture shows: %s", strings.Join(missing, ", "))
	}
	kstatuses, argo := map[string]bool{}, map[string]bool{}
	for _, r := range results {
		kstatuses[r.Expect.Kstatus] = true
		argo[r.Expect.Argocd] = true
	}
	for _, s := range []string{"InProgress", "Current", "Failed"} {
		if !kstatuses[s] {
			t.Errorf("no fixture expects kstatus %s", s)
		}
	}
	for _, s := range []string{"Progressing", "Suspended", "Healthy", "Degraded"} {
		if !argo[s] {
			t.Errorf("no fixture expects Argo CD %s", s)
		}
	}
}

// The comparison itself can fail: any other expected status is reported as a mismatch.
func TestWrongExpectationsAreReported(t *testing.T) {
	for _, r := range checked(t) {
		// What each tool shows, expected exactly: no problem. Anything else: a problem.
		exact := Expectation{Kstatus: r.Kstatus.Status, Argocd: r.Argocd.Status}
		if got := Check(r.File, r.Object, exact); len(got.Problems) != 0 {
			t.Errorf("%s: expecting what the tools show reports %v", r.File, got.Problems)
		}
		for _, other := range []string{"Current", "InProgress", "Failed"} {
			if other == r.Kstatus.Status {
				continue
			}
			want := exact
			want.Kstatus = other
			if got := Check(r.File, r.Object, want); len(got.Problems) == 0 {
				t.Errorf("%s: expecting kstatus %s when it says %s passed", r.File, other,
					r.Kstatus.Status)
			}
		}
		for _, other := range []string{"Healthy", "Progressing", "Degraded", "Suspended"} {
			if other == r.Argocd.Status {
				continue
			}
			want := exact
			want.Argocd = other
			if got := Check(r.File, r.Object, want); len(got.Problems) == 0 {
				t.Errorf("%s: expecting Argo CD %s when it says %s passed", r.File, other,
					r.Argocd.Status)
			}
		}
		want := exact
		want.ArgocdMessage = []string{"no such text in any message"}
		if got := Check(r.File, r.Object, want); len(got.Problems) == 0 {
			t.Errorf("%s: a message substring that is not there passed", r.File)
		}
	}
}

// fixture returns a deep copy of one committed fixture, to derive shapes the operator does
// not write today (a phase it never sets, a future phase) from a real object.
func fixture(t *testing.T, name string) *unstructured.Unstructured {
	t.Helper()
	u, err := LoadObject(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return u.DeepCopy()
}

func set(t *testing.T, u *unstructured.Unstructured, value interface{}, path ...string) {
	t.Helper()
	if err := unstructured.SetNestedField(u.Object, value, path...); err != nil {
		t.Fatal(err)
	}
}

// setCondition sets (or adds) one status condition.
func setCondition(t *testing.T, u *unstructured.Unstructured, kind, status, reason, msg string) {
	t.Helper()
	list, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	c := map[string]interface{}{"type": kind, "status": status, "reason": reason, "message": msg}
	replaced := false
	for i, item := range list {
		if m, ok := item.(map[string]interface{}); ok && m["type"] == kind {
			list[i], replaced = c, true
		}
	}
	if !replaced {
		list = append(list, c)
	}
	if err := unstructured.SetNestedSlice(u.Object, list, "status", "conditions"); err != nil {
		t.Fatal(err)
	}
}

// The Argo CD scripts on shapes the e2e scenario cannot produce: phases the operator does not
// write today (Promoting, Failed), a phase it might write tomorrow, a shift in progress.
// Derived from the real fixtures; kstatus is the library's own business and not judged here.
func TestArgoHealthEdges(t *testing.T) {
	cases := []struct {
		name    string
		make    func(t *testing.T) *unstructured.Unstructured
		status  string
		message string
	}{
		{"Promoting is progressing", func(t *testing.T) *unstructured.Unstructured {
			u := fixture(t, "cr-progressing.json")
			set(t, u, "Promoting", "status", "phase")
			return u
		}, "Progressing", "Promoting, step 1/6"},
		{"steps from the spec", func(t *testing.T) *unstructured.Unstructured {
			u := fixture(t, "cr-progressing.json")
			set(t, u, []interface{}{int64(50), int64(100)}, "spec", "steps")
			set(t, u, int64(1), "status", "currentStep")
			set(t, u, int64(100), "status", "canaryWeight")
			return u
		}, "Progressing", "step 2/2, canary 100%"},
		{"default steps without spec.steps", func(t *testing.T) *unstructured.Unstructured {
			u := fixture(t, "cr-progressing.json")
			unstructured.RemoveNestedField(u.Object, "spec", "steps")
			return u
		}, "Progressing", "step 1/6"},
		{"phase Failed", func(t *testing.T) *unstructured.Unstructured {
			u := fixture(t, "cr-invalidspec.json")
			set(t, u, "Failed", "status", "phase")
			return u
		}, "Degraded", "spec.trafficPolicyRef.backend"},
		{"InvalidSpec on a rollout that was progressing", func(t *testing.T) *unstructured.Unstructured {
			u := fixture(t, "cr-progressing.json")
			setCondition(t, u, "Ready", "False", "InvalidSpec", "spec.steps[1]: bad")
			return u
		}, "Degraded", "spec.steps[1]: bad"},
		{"paused with a region rolled back", func(t *testing.T) *unstructured.Unstructured {
			u := fixture(t, "cr-paused.json")
			setCondition(t, u, "Degraded", "True", "RegionRolledBack", "rolled back in us-east")
			return u
		}, "Degraded", "rolled back in us-east"},
		{"unknown phase, Stalled", func(t *testing.T) *unstructured.Unstructured {
			u := fixture(t, "cr-rolledback.json")
			set(t, u, "Hibernating", "status", "phase")
			return u
		}, "Degraded", "Hibernating"},
		{"unknown phase, Ready", func(t *testing.T) *unstructured.Unstructured {
			u := fixture(t, "cr-succeeded.json")
			set(t, u, "Hibernating", "status", "phase")
			return u
		}, "Healthy", "Hibernating"},
		{"unknown phase, neither", func(t *testing.T) *unstructured.Unstructured {
			u := fixture(t, "cr-progressing.json")
			set(t, u, "Hibernating", "status", "phase")
			return u
		}, "Progressing", "Hibernating"},
		{"empty status", func(t *testing.T) *unstructured.Unstructured {
			u := fixture(t, "cr-succeeded.json")
			set(t, u, map[string]interface{}{}, "status")
			return u
		}, "Progressing", "observe generation"},
		{"TrafficPolicy shifting while Ready", func(t *testing.T) *unstructured.Unstructured {
			u := fixture(t, "tp-ready.json")
			setCondition(t, u, "Progressing", "True", "Shifting",
				"shifting traffic from eastus to westeurope, southeastasia, step 1 of 4")
			return u
		}, "Healthy", "shifting traffic from eastus"},
		{"TrafficPolicy without conditions", func(t *testing.T) *unstructured.Unstructured {
			u := fixture(t, "tp-ready.json")
			unstructured.RemoveNestedField(u.Object, "status", "conditions")
			return u
		}, "Progressing", "Waiting for the Ready condition"},
		{"TierLimit limits not yet in the gateway", func(t *testing.T) *unstructured.Unstructured {
			u := fixture(t, "tl-ready.json")
			setCondition(t, u, "RateLimitsEnforced", "False", "Pending",
				"TrafficPolicy gitops-tp's haproxy route does not carry these limits yet")
			return u
		}, "Progressing", "does not carry these limits yet"},
		{"TierLimit HPA not ready", func(t *testing.T) *unstructured.Unstructured {
			u := fixture(t, "tl-ready.json")
			setCondition(t, u, "Ready", "False", "HPAConflict", "another HPA scales checkout")
			return u
		}, "Progressing", "another HPA scales checkout"},
	}
	for _, c := range cases {
		c := c
		t.Run(c.name, func(t *testing.T) {
			got, err := ArgoHealth(c.make(t))
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != c.status || !strings.Contains(got.Message, c.message) {
				t.Errorf("Argo CD says %s (%q), want %s with %q", got.Status, got.Message,
					c.status, c.message)
			}
		})
	}
}

// The VM is as bare as Argo CD's for a script from argocd-cm: no string, math or os library,
// so a health check that needs one fails here first.
func TestVMOpensOnlyBaseAndTable(t *testing.T) {
	u := fixture(t, "tp-ready.json")
	got, err := RunHealthScript(`
		local hs = {status = "Healthy", message = ""}
		for _, lib in ipairs({"string", "math", "os", "io", "coroutine", "debug"}) do
			if _G[lib] ~= nil then
				hs.status = "Degraded"
				hs.message = hs.message .. lib .. " "
			end
		end
		if table == nil or ipairs == nil or tostring == nil then hs.status = "Degraded" end
		if obj.kind ~= "TrafficPolicy" then hs.status = "Degraded" end
		return hs`, u)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != "Healthy" {
		t.Errorf("libraries Argo CD does not open are open: %s", got.Message)
	}
	// A status outside Argo CD's list reads as Unknown, as in Argo CD.
	got, err = RunHealthScript(`return {status = "Fine"}`, u)
	if err != nil || got.Status != "Unknown" || got.Message != invalidHealthStatus {
		t.Errorf("status Fine read as %+v, %v", got, err)
	}
}

// docs/gitops.md holds the scripts as an argocd-cm block to paste; it must hold them exactly
// as they are in charts/sluice/files/argocd.
func TestDocSnippetMatchesScripts(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(RepoRoot(), "docs", "gitops.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"CanaryRollout", "TrafficPolicy", "TierLimit"} {
		key := "  resource.customizations.health.sluice.dev_" + kind + ": |\n"
		start := strings.Index(string(doc), key)
		if start < 0 {
			t.Errorf("docs/gitops.md has no %q", strings.TrimSpace(key))
			continue
		}
		var script []string
		for _, line := range strings.Split(string(doc)[start+len(key):], "\n") {
			if line != "" && !strings.HasPrefix(line, "    ") {
				break // the next key or the end of the block
			}
			script = append(script, strings.TrimPrefix(line, "    "))
		}
		want, err := os.ReadFile(ScriptPath(kind))
		if err != nil {
			t.Fatal(err)
		}
		got := strings.TrimRight(strings.Join(script, "\n"), "\n") + "\n"
		if got != string(want) {
			t.Errorf("docs/gitops.md's script for %s differs from %s; regenerate the block",
				kind, ScriptPath(kind))
		}
	}
}
