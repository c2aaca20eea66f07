package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"gopkg.in/yaml.v3"

	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/sdk/manifest"
)

// Output formats of get.
const (
	outTable = ""
	outWide  = "wide"
	outJSON  = "json"
	outYAML  = "yaml"
	outName  = "name"
)

func checkOutput(o string) error {
	switch o {
	case outTable, outWide, outJSON, outYAML, outName:
		return nil
	}
	return usageError{fmt.Errorf("unknown output format %q: want wide, yaml, json or name", o)}
}

// printer writes objects of one kind in one output format.
type printer struct {
	w         io.Writer
	kind      *corev1.KindInfo
	format    string
	cols      []column
	tbl       *table
	noHeaders bool
	header    bool // the header is printed
	streamed  int  // objects printed one by one (watch)
}

func newPrinter(a *app, k *corev1.KindInfo, format string, o tableOptions, noHeaders bool) *printer {
	o.wide = format == outWide
	return &printer{
		w:         a.stdout,
		kind:      k,
		format:    format,
		cols:      columnsFor(k, o, a.now),
		tbl:       &table{w: a.stdout},
		noHeaders: noHeaders,
	}
}

// list prints objects. With single, json and yaml print the object itself
// rather than a List (get KIND NAME).
func (p *printer) list(objs []apis.Object, single bool) error {
	switch p.format {
	case outJSON:
		if single && len(objs) == 1 {
			return writeJSON(p.w, objs[0])
		}
		return writeJSONList(p.w, objs)
	case outYAML:
		if single && len(objs) == 1 {
			return writeYAML(p.w, objs[0])
		}
		return writeYAMLList(p.w, objs)
	case outName:
		for _, obj := range objs {
			if _, err := fmt.Fprintf(p.w, "%s/%s\n", singular(p.kind), obj.GetMetadata().GetName()); err != nil {
				return err
			}
		}
		return nil
	}
	return p.rows(objs, false)
}

// rows prints table rows, with the header first if it is not out yet.
// withHeader prints the header even without rows (get -w).
func (p *printer) rows(objs []apis.Object, withHeader bool) error {
	var rows [][]string
	if !p.header && !p.noHeaders && (len(objs) > 0 || withHeader) {
		rows = append(rows, headers(p.cols))
		p.header = true
	}
	for _, obj := range objs {
		f, err := toFields(obj)
		if err != nil {
			return err
		}
		rows = append(rows, row(p.cols, f))
	}
	if len(rows) == 0 {
		return nil
	}
	return p.tbl.write(rows...)
}

// event prints one watched change: a row, or the object.
func (p *printer) event(obj apis.Object) error {
	defer func() { p.streamed++ }()
	switch p.format {
	case outJSON:
		return writeJSON(p.w, obj)
	case outYAML:
		if p.streamed > 0 {
			if _, err := io.WriteString(p.w, "---\n"); err != nil {
				return err
			}
		}
		return writeYAML(p.w, obj)
	case outName:
		return p.list([]apis.Object{obj}, false)
	}
	return p.rows([]apis.Object{obj}, false)
}

func writeJSON(w io.Writer, obj apis.Object) error {
	data, err := manifest.EncodeJSON(obj)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

// writeJSONList prints objects as kubectl does: a v1 List.
func writeJSONList(w io.Writer, objs []apis.Object) error {
	list := struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Items      []json.RawMessage `json:"items"`
	}{APIVersion: "v1", Kind: "List", Items: []json.RawMessage{}}
	for _, obj := range objs {
		data, err := manifest.EncodeJSON(obj)
		if err != nil {
			return err
		}
		list.Items = append(list.Items, data)
	}
	data, err := json.MarshalIndent(list, "", "    ")
	if err != nil {
		return fmt.Errorf("format JSON: %w", err)
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

func writeYAML(w io.Writer, obj apis.Object) error {
	data, err := manifest.EncodeYAML(obj)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

// writeYAMLList prints objects as a v1 List, keeping each object's field
// order.
func writeYAMLList(w io.Writer, objs []apis.Object) error {
	items := &yaml.Node{Kind: yaml.SequenceNode}
	for _, obj := range objs {
		data, err := manifest.EncodeYAML(obj)
		if err != nil {
			return err
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return fmt.Errorf("format YAML: %w", err)
		}
		if len(doc.Content) == 1 {
			items.Content = append(items.Content, doc.Content[0])
		}
	}
	str := func(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }
	list := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		str("apiVersion"), str("v1"),
		str("kind"), str("List"),
		str("items"), items,
	}}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(list); err != nil {
		return fmt.Errorf("format YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("format YAML: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}
