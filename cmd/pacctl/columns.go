package main

import (
	"sort"
	"strings"
	"time"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// column is one column of get's table.
type column struct {
	header string
	cell   func(obj map[string]any) string
}

type tableOptions struct {
	wide          bool // -o wide: also priority 1 columns
	allNamespaces bool // -A: a NAMESPACE column first
	showLabels    bool
}

// columnsFor builds the table columns of a kind from the server's printer
// columns: [NAMESPACE] NAME, then the kind's columns, then AGE unless the
// kind has a date column of its own, then [LABELS].
func columnsFor(k *corev1.KindInfo, o tableOptions, now func() time.Time) []column {
	var cols []column
	if o.allNamespaces && k.GetNamespaced() {
		cols = append(cols, pathColumn("NAMESPACE", ".metadata.namespace", "string", now))
	}
	cols = append(cols, pathColumn("NAME", ".metadata.name", "string", now))
	hasDate := false
	for _, pc := range k.GetPrinterColumns() {
		if pc.GetPriority() > 0 && !o.wide {
			continue
		}
		if pc.GetType() == "date" {
			hasDate = true
		}
		cols = append(cols, pathColumn(strings.ToUpper(pc.GetName()), pc.GetJsonPath(), pc.GetType(), now))
	}
	if !hasDate {
		cols = append(cols, pathColumn("AGE", ".metadata.creationTimestamp", "date", now))
	}
	if o.showLabels {
		cols = append(cols, column{header: "LABELS", cell: labelsCell})
	}
	return cols
}

func pathColumn(header, path, typ string, now func() time.Time) column {
	return column{header: header, cell: func(obj map[string]any) string {
		v, ok := lookup(obj, path)
		return cell(v, ok, typ, now())
	}}
}

func labelsCell(obj map[string]any) string {
	v, _ := lookup(obj, ".metadata.labels")
	m, _ := v.(map[string]any)
	if len(m) == 0 {
		return "<none>"
	}
	return joinLabels(m, ",")
}

// joinLabels formats labels as sorted key=value pairs.
func joinLabels(m map[string]any, sep string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + scalar(m[k])
	}
	return strings.Join(parts, sep)
}

func headers(cols []column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.header
	}
	return out
}

func row(cols []column, obj map[string]any) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.cell(obj)
	}
	return out
}
