package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// toFields returns an object in its JSON form (protojson names, as in
// manifests), which printer column paths and describe read.
func toFields(obj proto.Message) (map[string]any, error) {
	data, err := protojson.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", obj.ProtoReflect().Descriptor().FullName(), err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode %s: %w", obj.ProtoReflect().Descriptor().FullName(), err)
	}
	return m, nil
}

// lookup follows a printer column path such as .status.phase,
// .spec.containers[0].image or .status.containerStatuses[*].ready (which
// yields the list of every element's value).
func lookup(v any, path string) (any, bool) {
	segs := strings.Split(strings.TrimPrefix(path, "."), ".")
	for si, seg := range segs {
		if seg == "" {
			continue
		}
		name, rest, _ := strings.Cut(seg, "[")
		if name != "" {
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = m[name]; !ok {
				return nil, false
			}
		}
		for rest != "" {
			idx, after, ok := strings.Cut(rest, "]")
			if !ok {
				return nil, false
			}
			list, isList := v.([]any)
			if idx == "*" {
				if !isList {
					return nil, false
				}
				tail := strings.TrimPrefix(after, "[")
				if tail != "" {
					tail = "[" + tail
				}
				remaining := tail + "." + strings.Join(segs[si+1:], ".")
				out := []any{}
				for _, e := range list {
					if ev, ok := lookup(e, remaining); ok {
						out = append(out, ev)
					}
				}
				return out, true
			}
			i, err := strconv.Atoi(idx)
			if err != nil || !isList || i < 0 || i >= len(list) {
				return nil, false
			}
			v = list[i]
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return v, true
}

// cell formats a column value of the given type ("string", "integer",
// "date" shown as an age, "boolean", "ready" for a list of booleans shown as
// ready/total, "sum" for the total of a list of numbers, "readyreplicas"
// for a Deployment's ready/wanted pods, "readycontainers" for a pod's
// ready/declared containers).
func cell(v any, found bool, typ string, now time.Time) string {
	switch typ {
	case "podstatus":
		return podStatus(v)
	case "ready":
		list := asList(v)
		return fmt.Sprintf("%d/%d", countTrue(list), len(list))
	case "readycontainers":
		// The whole object: ready container statuses over the containers
		// the spec declares (statuses appear only once containers exist,
		// and protojson omits ready: false), as kubectl shows pods.
		statuses, _ := lookup(asMap(v), ".status.containerStatuses[*].ready")
		containers, _ := lookup(asMap(v), ".spec.containers")
		return fmt.Sprintf("%d/%d", countTrue(asList(statuses)), len(asList(containers)))
	case "readyreplicas":
		// The whole object: status.readyReplicas/spec.replicas, as kubectl
		// shows Deployments.
		ready, _ := lookup(asMap(v), ".status.readyReplicas")
		want, _ := lookup(asMap(v), ".spec.replicas")
		return intOrZero(ready) + "/" + intOrZero(want)
	case "sum":
		list, _ := v.([]any)
		var total int64
		for _, e := range list {
			if n, ok := e.(json.Number); ok {
				i, _ := n.Int64()
				total += i
			}
		}
		return strconv.FormatInt(total, 10)
	}
	if (!found || v == nil) && typ == "boolean" {
		return "false" // protojson omits false
	}
	if (!found || v == nil) && typ == "integer" {
		return "0" // and 0
	}
	if !found || v == nil {
		return "<none>"
	}
	if typ == "date" {
		if s, ok := v.(string); ok {
			return age(now, s)
		}
	}
	return scalar(v)
}

// countTrue counts the true booleans of list.
func countTrue(list []any) int {
	n := 0
	for _, e := range list {
		if b, _ := e.(bool); b {
			n++
		}
	}
	return n
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func intOrZero(v any) string {
	if v == nil {
		return "0"
	}
	return scalar(v)
}

// scalar formats a JSON value for one table cell or describe line.
func scalar(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			switch e.(type) {
			case map[string]any, []any:
				return compactJSON(v)
			}
			parts[i] = scalar(e)
		}
		return strings.Join(parts, ",")
	case nil:
		return "<none>"
	}
	return compactJSON(v)
}

func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// podStatus is kubectl's STATUS for a pod: Terminating, else the first
// container's waiting or terminated reason (ContainerCreating,
// ImagePullBackOff, CrashLoopBackOff, OOMKilled...), else the phase.
func podStatus(v any) string {
	obj, _ := v.(map[string]any)
	if _, deleting := lookup(obj, ".metadata.deletionTimestamp"); deleting {
		return "Terminating"
	}
	if r, ok := lookup(obj, ".status.reason"); ok && scalar(r) != "" {
		return scalar(r) // e.g. Evicted, as kubectl shows it
	}
	statuses, _ := lookup(obj, ".status.containerStatuses")
	list, _ := statuses.([]any)
	for _, cs := range list {
		if r, ok := lookup(cs, ".state.waiting.reason"); ok && scalar(r) != "" {
			return scalar(r)
		}
	}
	phase, _ := lookup(obj, ".status.phase")
	for _, cs := range list {
		if r, ok := lookup(cs, ".state.terminated.reason"); ok && scalar(r) != "" && scalar(phase) != "Succeeded" {
			return scalar(r)
		}
	}
	if phase == nil {
		return "Pending"
	}
	return scalar(phase)
}
