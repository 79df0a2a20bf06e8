package main

import "testing"

func TestIsCollection(t *testing.T) {
	for path, want := range map[string]bool{
		"/api/v1/pods":                                                    true,
		"/api/v1/namespaces":                                              true,
		"/api/v1/namespaces/ns":                                           false,
		"/api/v1/namespaces/ns/pods":                                      true,
		"/api/v1/namespaces/ns/pods/p":                                    false,
		"/apis/sluice.dev/v1alpha1/canaryrollouts":                        true,
		"/apis/sluice.dev/v1alpha1/namespaces/ns/canaryrollouts":          true,
		"/apis/sluice.dev/v1alpha1/namespaces/ns/canaryrollouts/x":        false,
		"/apis/sluice.dev/v1alpha1/namespaces/ns/canaryrollouts/x/status": false,
	} {
		if got := isCollection(path); got != want {
			t.Errorf("isCollection(%q) = %v, want %v", path, got, want)
		}
	}
}
