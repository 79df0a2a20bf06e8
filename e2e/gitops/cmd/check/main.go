// check reads a directory of Sluice objects (kubectl get -o json) and its expect.json, runs
// kstatus and the Argo CD health checks on each, prints what each tool shows and exits 1 on
// any mismatch:
//
//	go run ./cmd/check [-complete] DIR
//
// -complete also fails unless the objects show every state in gitops.RequiredSituations.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"sluice.dev/e2e/gitops"
)

func main() {
	complete := flag.Bool("complete", false, "require every state in gitops.RequiredSituations")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: check [-complete] DIR")
		os.Exit(2)
	}
	results, err := gitops.CheckDir(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "check:", err)
		os.Exit(2)
	}
	failed := 0
	for _, r := range results {
		fmt.Printf("%-34s %-48s kstatus %-10s argocd %-11s %s\n", r.File, r.Situation,
			r.Kstatus.Status, r.Argocd.Status, r.Argocd.Message)
		for _, p := range r.Problems {
			fmt.Printf("    MISMATCH %s: %s\n", r.File, p)
		}
		if len(r.Problems) > 0 {
			failed++
		}
	}
	fmt.Printf("%d objects as expected in both tools, %d not\n", len(results)-failed, failed)
	missing := gitops.MissingSituations(results)
	if *complete && len(missing) > 0 {
		fmt.Printf("MISSING: no object shows %s\n", strings.Join(missing, ", "))
	}
	if failed > 0 || (*complete && len(missing) > 0) {
		os.Exit(1)
	}
}
