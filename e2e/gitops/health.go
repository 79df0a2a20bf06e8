// Package gitops reads Sluice objects the way the two GitOps tools do: Flux through kstatus
// (sigs.k8s.io/cli-utils/pkg/kstatus/status, the library itself) and Argo CD through the Lua
// health checks in charts/sluice/files/argocd, run in gopher-lua set up as Argo CD's util/lua
// sets it up for a script from argocd-cm.
package gitops

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	lua "github.com/yuin/gopher-lua"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

// Argo CD's health status codes (gitops-engine pkg/health); a script returning anything else
// is read as Unknown with invalidHealthStatus, as Argo CD does.
var argoStatuses = map[string]bool{
	"Healthy": true, "Progressing": true, "Degraded": true, "Suspended": true,
	"Missing": true, "Unknown": true,
}

const invalidHealthStatus = "Lua returned an invalid health status"

// Health is what one tool shows for one object.
type Health struct {
	Status  string
	Message string
}

// RepoRoot is the Sluice checkout this package lives in.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// ScriptPath is where the Argo CD health check of a sluice.dev kind lives (Argo CD's
// resource_customizations layout: <group>/<Kind>/health.lua).
func ScriptPath(kind string) string {
	return filepath.Join(RepoRoot(), "charts", "sluice", "files", "argocd", "sluice.dev", kind,
		"health.lua")
}

// LoadObject reads one object as `kubectl get -o json` prints it. Numbers become int64 or
// float64 as in the unstructured objects Argo CD and Flux hold.
func LoadObject(path string) (*unstructured.Unstructured, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return u, nil
}

// Kstatus is what Flux shows: kstatus' Compute on the object.
func Kstatus(u *unstructured.Unstructured) (Health, error) {
	res, err := status.Compute(u)
	if err != nil {
		return Health{}, err
	}
	return Health{Status: res.Status.String(), Message: res.Message}, nil
}

// ArgoHealth runs the kind's health.lua on the object as Argo CD runs a health check from
// argocd-cm (util/lua: SkipOpenLibs, then only the package, base and table libraries; Argo CD
// adds a "safe" os library of its own, which these scripts do not use and which is left out
// here, so a script that reached for os, string or math fails this test), with `obj` set from
// the object and a one second limit; reads the returned table.
func ArgoHealth(u *unstructured.Unstructured) (Health, error) {
	script, err := os.ReadFile(ScriptPath(u.GetKind()))
	if err != nil {
		return Health{}, err
	}
	return RunHealthScript(string(script), u)
}

// RunHealthScript runs one health script on one object (see ArgoHealth).
func RunHealthScript(script string, u *unstructured.Unstructured) (Health, error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
	} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true},
			lua.LString(lib.name)); err != nil {
			return Health{}, err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", decodeValue(l, u.Object))
	if err := l.DoString(script); err != nil {
		return Health{}, err
	}
	ret, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		return Health{}, fmt.Errorf("expect table output from Lua script, not %s",
			l.Get(-1).Type().String())
	}
	st, ok := ret.RawGetString("status").(lua.LString)
	if !ok {
		return Health{}, fmt.Errorf("hs.status is %s, not a string", ret.RawGetString("status").Type())
	}
	var msg string
	switch m := ret.RawGetString("message").(type) {
	case lua.LString:
		msg = string(m)
	case *lua.LNilType:
	default:
		return Health{}, fmt.Errorf("hs.message is %s, not a string", m.Type())
	}
	if !argoStatuses[string(st)] {
		return Health{Status: "Unknown", Message: invalidHealthStatus}, nil
	}
	return Health{Status: string(st), Message: msg}, nil
}

// decodeValue turns the unstructured object into Lua values the way Argo CD's util/lua does:
// numbers (int64 or float64) become Lua numbers, arrays tables indexed from 1, maps tables.
func decodeValue(l *lua.LState, value interface{}) lua.LValue {
	switch v := value.(type) {
	case bool:
		return lua.LBool(v)
	case float64:
		return lua.LNumber(v)
	case string:
		return lua.LString(v)
	case int:
		return lua.LNumber(v)
	case int32:
		return lua.LNumber(v)
	case int64:
		return lua.LNumber(v)
	case []interface{}:
		arr := l.CreateTable(len(v), 0)
		for _, item := range v {
			arr.Append(decodeValue(l, item))
		}
		return arr
	case map[string]interface{}:
		tbl := l.CreateTable(0, len(v))
		for key, item := range v {
			tbl.RawSetH(lua.LString(key), decodeValue(l, item))
		}
		return tbl
	}
	return lua.LNil
}
