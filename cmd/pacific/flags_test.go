package main

import (
	"strings"
	"testing"
	"time"
)

func TestSimFlagsValidation(t *testing.T) {
	for _, tc := range []struct {
		o    simOptions
		want string // "" = valid
	}{
		{simOptions{hosts: 3, cpu: "4", memory: "8Gi", zones: 3}, ""},
		{simOptions{hosts: 0, cpu: "500m", memory: "1Gi"}, ""},
		{simOptions{hosts: -1, cpu: "4", memory: "8Gi"}, "--sim-hosts"},
		{simOptions{hosts: maxSimHosts + 1, cpu: "4", memory: "8Gi"}, "--sim-hosts"},
		{simOptions{hosts: 1, cpu: "lots", memory: "8Gi"}, "--sim-host-cpu"},
		{simOptions{hosts: 1, cpu: "0", memory: "8Gi"}, "--sim-host-cpu"},
		{simOptions{hosts: 1, cpu: "4", memory: "-1Gi"}, "--sim-host-memory"},
		{simOptions{hosts: 1, cpu: "4", memory: "8Gi", zones: -2}, "--sim-zones"},
	} {
		err := tc.o.validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", tc.o, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: got %v, want an error naming %s", tc.o, err, tc.want)
		}
	}
	o := simOptions{hosts: 1, cpu: "1500m", memory: "2Gi"}
	if err := o.validate(); err != nil || o.cpuMillis != 1500 || o.memoryBytes != 2<<30 {
		t.Fatalf("parsed %d millicpu, %d bytes (err %v)", o.cpuMillis, o.memoryBytes, err)
	}
}

func TestSchedulerFlagsValidation(t *testing.T) {
	for _, tc := range []struct {
		f    schedulerFlags
		want string
	}{
		{schedulerFlags{strategy: "spread"}, ""},
		{schedulerFlags{strategy: "binpack", percent: 100}, ""},
		{schedulerFlags{strategy: "random"}, "--scheduler-strategy"},
		{schedulerFlags{strategy: "spread", percent: 101}, "--scheduler-percentage-of-hosts-to-score"},
	} {
		_, err := tc.f.config("scheduler-")
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", tc.f, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: got %v, want an error naming %s", tc.f, err, tc.want)
		}
	}
}

func TestControllerFlagsValidation(t *testing.T) {
	ok := controllerFlags{hostMonitorGrace: 40 * time.Second, podEvictionTimeout: 5 * time.Minute, eventTTL: time.Hour}
	if err := ok.validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for flag, f := range map[string]controllerFlags{
		"--host-monitor-grace":   {hostMonitorGrace: 0, podEvictionTimeout: time.Minute, eventTTL: time.Hour},
		"--pod-eviction-timeout": {hostMonitorGrace: time.Second, podEvictionTimeout: 0, eventTTL: time.Hour},
		"--event-ttl":            {hostMonitorGrace: time.Second, podEvictionTimeout: time.Minute, eventTTL: time.Second},
	} {
		if err := f.validate(); err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("%+v: got %v, want an error naming %s", f, err, flag)
		}
	}
}
