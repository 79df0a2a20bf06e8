package gitops

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ExpectFile names, in a fixture directory, what each tool must show for each object file:
// {"cr-paused.json": {"kstatus": "Current", "argocd": "Suspended",
// "argocdMessage": ["Paused"]}}. Every other *.json file in the directory is one object as
// `kubectl get -o json` prints it.
const ExpectFile = "expect.json"

// Expectation is one object's expected health in each tool.
type Expectation struct {
	Kstatus string `json:"kstatus"`
	Argocd  string `json:"argocd"`
	// Substrings the Argo CD message must contain.
	ArgocdMessage []string `json:"argocdMessage,omitempty"`
	// What the object shows (for people reading expect.json).
	Why string `json:"why,omitempty"`
}

// Result is one fixture, checked.
type Result struct {
	File      string
	Object    *unstructured.Unstructured
	Expect    Expectation
	Kstatus   Health
	Argocd    Health
	Situation string
	Problems  []string
}

// CheckDir reads the objects and expect.json in dir and checks each object with both tools.
// An error means the directory itself is wrong (unreadable, an object without expectations or
// an expectation without object); mismatches are in each Result's Problems.
func CheckDir(dir string) ([]Result, error) {
	data, err := os.ReadFile(filepath.Join(dir, ExpectFile))
	if err != nil {
		return nil, err
	}
	expect := map[string]Expectation{}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&expect); err != nil {
		return nil, fmt.Errorf("%s: %w", ExpectFile, err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var results []Result
	for _, path := range files {
		name := filepath.Base(path)
		if name == ExpectFile {
			continue
		}
		seen[name] = true
		want, ok := expect[name]
		if !ok {
			return nil, fmt.Errorf("%s has no entry in %s", name, ExpectFile)
		}
		if want.Kstatus == "" || want.Argocd == "" {
			return nil, fmt.Errorf("%s: %s names no kstatus or no argocd status", ExpectFile, name)
		}
		u, err := LoadObject(path)
		if err != nil {
			return nil, err
		}
		results = append(results, Check(name, u, want))
	}
	var missing []string
	for name := range expect {
		if !seen[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("%s names files that are not there: %s", ExpectFile,
			strings.Join(missing, ", "))
	}
	if len(results) == 0 {
		return nil, fmt.Errorf("%s: no objects", dir)
	}
	return results, nil
}

// Check runs both tools on one object and compares with what is expected.
func Check(name string, u *unstructured.Unstructured, want Expectation) Result {
	r := Result{File: name, Object: u, Expect: want, Situation: Situation(u)}
	ks, err := Kstatus(u)
	if err != nil {
		r.Problems = append(r.Problems, "kstatus: "+err.Error())
	} else {
		r.Kstatus = ks
		if ks.Status != want.Kstatus {
			r.Problems = append(r.Problems, fmt.Sprintf("kstatus says %s (%q), want %s",
				ks.Status, ks.Message, want.Kstatus))
		}
	}
	ah, err := ArgoHealth(u)
	if err != nil {
		r.Problems = append(r.Problems, "Argo CD health.lua: "+err.Error())
	} else {
		r.Argocd = ah
		if ah.Status != want.Argocd {
			r.Problems = append(r.Problems, fmt.Sprintf("Argo CD says %s (%q), want %s",
				ah.Status, ah.Message, want.Argocd))
		}
		if ah.Status == "Unknown" {
			r.Problems = append(r.Problems, "Argo CD says Unknown: no state may map to Unknown")
		}
		for _, sub := range want.ArgocdMessage {
			if !strings.Contains(ah.Message, sub) {
				r.Problems = append(r.Problems, fmt.Sprintf("Argo CD message %q lacks %q",
					ah.Message, sub))
			}
		}
	}
	return r
}

// Situation names the state an object is in, read from the object alone (not from its file
// name), so a fixture set can be checked for covering every state: "<Kind>/<state>".
func Situation(u *unstructured.Unstructured) string {
	kind := u.GetKind()
	st, hasStatus, _ := unstructured.NestedMap(u.Object, "status")
	observed, hasObserved, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
	switch {
	case !hasStatus || !hasObserved:
		return kind + "/no-status"
	case u.GetGeneration() > observed:
		return kind + "/generation-not-observed"
	}
	conds := map[string]map[string]interface{}{}
	if list, ok := st["conditions"].([]interface{}); ok {
		for _, c := range list {
			if m, ok := c.(map[string]interface{}); ok {
				t, _ := m["type"].(string)
				conds[t] = m
			}
		}
	}
	is := func(t, status string) bool { s, _ := conds[t]["status"].(string); return s == status }
	reason := func(t string) string { r, _ := conds[t]["reason"].(string); return r }
	terminal := func(t string) bool {
		return is(t, "False") && (reason(t) == "InvalidSpec" || reason(t) == "Conflicted")
	}
	if kind == "CanaryRollout" {
		phase, _ := st["phase"].(string)
		switch {
		case terminal("Ready"):
			return kind + "/" + reason("Ready")
		case (phase == "Progressing" || phase == "Paused") && is("Degraded", "True"):
			return kind + "/" + phase + "+Degraded"
		case phase == "Pending" || phase == "Progressing":
			if is("Ready", "False") && reason("Ready") != "RolloutProgressing" {
				return kind + "/" + phase + "+Ready=False(" + reason("Ready") + ")"
			}
		}
		return kind + "/" + phase
	}
	for _, t := range []string{"Ready", "RateLimitsEnforced"} {
		if terminal(t) {
			return kind + "/" + t + "=False(" + reason(t) + ")"
		}
	}
	switch {
	case is("Degraded", "True"):
		return kind + "/Degraded(" + reason("Degraded") + ")"
	case is("Ready", "True") && (conds["RateLimitsEnforced"] == nil || is("RateLimitsEnforced", "True")):
		return kind + "/Ready"
	case is("Ready", "True"):
		return kind + "/RateLimitsEnforced=False(" + reason("RateLimitsEnforced") + ")"
	case conds["Ready"] == nil:
		return kind + "/no-Ready"
	}
	return kind + "/Ready=False(" + reason("Ready") + ")"
}

// RequiredSituations are the states a complete fixture set shows (see Situation): every
// CanaryRollout phase the operator writes, a spec not yet observed and no status at all, and
// each kind's healthy, waiting and failing shapes.
var RequiredSituations = []string{
	"CanaryRollout/no-status",
	"CanaryRollout/generation-not-observed",
	"CanaryRollout/Pending+Ready=False(ServiceNotFound)",
	"CanaryRollout/Progressing",
	"CanaryRollout/Progressing+Degraded",
	"CanaryRollout/Paused",
	"CanaryRollout/Succeeded",
	"CanaryRollout/RolledBack",
	"CanaryRollout/InvalidSpec",
	"TrafficPolicy/Ready",
	"TrafficPolicy/Ready=False(TrafficProviderError)",
	"TrafficPolicy/Degraded(Panic)",
	"TierLimit/Ready",
	"TierLimit/Ready=False(InvalidSpec)",
	"TierLimit/RateLimitsEnforced=False(Conflicted)",
}

// MissingSituations lists the RequiredSituations no result shows.
func MissingSituations(results []Result) []string {
	have := map[string]bool{}
	for _, r := range results {
		have[r.Situation] = true
	}
	var missing []string
	for _, s := range RequiredSituations {
		if !have[s] {
			missing = append(missing, s)
		}
	}
	return missing
}
