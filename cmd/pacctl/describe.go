package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

func newDescribeCommand(a *app) *cobra.Command {
	var selector string
	cmd := &cobra.Command{
		Use:   "describe KIND [NAME...]",
		Short: "Show objects in detail, with their events",
		Long: "Show objects in detail: metadata, labels, annotations, spec and status,\n" +
			"conditions, and the events about them. Without NAME, every object of the\n" +
			"kind in the namespace (or matching -l).",
		Example: "  pacctl describe namespace demo",
		Args:    argsAtLeast(1, "name a kind, e.g. pacctl describe namespace demo"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.describe(cmd.Context(), args[0], args[1:], selector)
		},
	}
	cmd.Flags().StringVarP(&selector, "selector", "l", "", "label selector, when no NAME is given")
	return cmd
}

func (a *app) describe(ctx context.Context, kindName string, names []string, selector string) error {
	k, err := a.kindByName(ctx, kindName)
	if err != nil {
		return err
	}
	ns := ""
	if k.GetNamespaced() {
		ns = a.defaultNamespace()
	}
	dyn := a.cl.Dynamic(gvkOf(k))
	var objs []apis.Object
	if len(names) == 0 {
		reqCtx, cancel := a.requestContext(ctx)
		objs, _, err = dyn.ListAll(reqCtx, client.ListOptions{Namespace: ns, LabelSelector: selector})
		cancel()
		if err != nil {
			return err
		}
		if len(objs) == 0 {
			fmt.Fprintln(a.stderr, noResources(k, ns))
		}
	}
	for _, name := range names {
		obj, err := a.getOne(ctx, dyn, ns, name)
		if err != nil {
			a.report(err)
			continue
		}
		objs = append(objs, obj)
	}
	for i, obj := range objs {
		if i > 0 {
			fmt.Fprintln(a.stdout)
		}
		events, eventsErr := a.eventsFor(ctx, k, obj)
		if err := a.writeDescription(a.stdout, k, obj, events, eventsErr); err != nil {
			return err
		}
	}
	return nil
}

// eventsFor lists the Events whose involvedObject is obj, oldest first.
func (a *app) eventsFor(ctx context.Context, k *corev1.KindInfo, obj apis.Object) ([]*corev1.Event, error) {
	md := obj.GetMetadata()
	ctx, cancel := a.requestContext(ctx)
	defer cancel()
	// Events about cluster-scoped objects may live in any namespace.
	sel := "involvedObject.kind=" + k.GetKind() + ",involvedObject.name=" + md.GetName()
	all, _, err := client.For[*corev1.Event](a.cl).ListAll(ctx, client.ListOptions{Namespace: md.GetNamespace(), FieldSelector: sel})
	if err != nil {
		return nil, err
	}
	var out []*corev1.Event
	for _, ev := range all {
		ref := ev.GetInvolvedObject()
		if ref.GetKind() != k.GetKind() || ref.GetName() != md.GetName() || ref.GetNamespace() != md.GetNamespace() {
			continue
		}
		if ref.GetApiVersion() != "" && ref.GetApiVersion() != k.GetApiVersion() {
			continue
		}
		if ref.GetUid() != "" && ref.GetUid() != md.GetUid() {
			continue // about an earlier object of the same name
		}
		out = append(out, ev)
	}
	sort.SliceStable(out, func(i, j int) bool { return eventTime(out[i]).Before(eventTime(out[j])) })
	return out, nil
}

func eventTime(ev *corev1.Event) time.Time {
	for _, ts := range []interface{ AsTime() time.Time }{ev.GetLastTimestamp(), ev.GetFirstTimestamp(), ev.GetMetadata().GetCreationTimestamp()} {
		if t := ts.AsTime(); !t.IsZero() && t.Unix() != 0 {
			return t
		}
	}
	return time.Time{}
}

// writeDescription prints one object kubectl-describe style.
func (a *app) writeDescription(w io.Writer, k *corev1.KindInfo, obj apis.Object, events []*corev1.Event, eventsErr error) error {
	f, err := toFields(obj)
	if err != nil {
		return err
	}
	md := obj.GetMetadata()
	d := &describer{w: w}
	d.field("Name", md.GetName())
	if k.GetNamespaced() {
		d.field("Namespace", md.GetNamespace())
	}
	d.field("Kind", k.GetKind()+" ("+k.GetApiVersion()+")")
	d.multi("Labels", sortedPairs(md.GetLabels()))
	d.multi("Annotations", sortedPairs(md.GetAnnotations()))
	d.field("UID", md.GetUid())
	d.field("Resource Version", fmt.Sprint(md.GetResourceVersion()))
	d.field("Generation", fmt.Sprint(md.GetGeneration()))
	if ts := md.GetCreationTimestamp(); ts != nil {
		d.field("Created", fmt.Sprintf("%s (%s ago)", ts.AsTime().UTC().Format(time.RFC3339), humanDuration(a.now().Sub(ts.AsTime()))))
	}
	if ts := md.GetDeletionTimestamp(); ts != nil {
		d.field("Deleting Since", ts.AsTime().UTC().Format(time.RFC3339))
	}
	if len(md.GetFinalizers()) > 0 {
		d.multi("Finalizers", md.GetFinalizers())
	}
	if refs := md.GetOwnerReferences(); len(refs) > 0 {
		var owners []string
		for _, r := range refs {
			s := r.GetKind() + "/" + r.GetName()
			if r.GetController() {
				s += " (controller)"
			}
			owners = append(owners, s)
		}
		d.multi("Owners", owners)
	}

	// Every other top-level field (spec, or a kind's own fields), then status.
	var body []string
	for key := range f {
		switch key {
		case "apiVersion", "kind", "metadata", "status":
			continue
		}
		body = append(body, key)
	}
	sort.Slice(body, func(i, j int) bool {
		if (body[i] == "spec") != (body[j] == "spec") {
			return body[i] == "spec"
		}
		return body[i] < body[j]
	})
	for _, key := range body {
		d.yamlBlock(title(key), f[key])
	}
	var conditions []any
	if status, ok := f["status"].(map[string]any); ok {
		if c, ok := status["conditions"].([]any); ok {
			conditions = c
			status = withoutKey(status, "conditions")
		}
		if len(status) > 0 {
			d.yamlBlock("Status", status)
		}
	}
	if len(conditions) > 0 {
		d.conditions(conditions, a.now())
	}
	d.events(events, eventsErr, a.now())
	return d.err
}

// describer writes "Label:  value" lines and indented blocks.
type describer struct {
	w   io.Writer
	err error
}

const labelWidth = 18

func (d *describer) printf(format string, args ...any) {
	if d.err == nil {
		_, d.err = fmt.Fprintf(d.w, format, args...)
	}
}

func (d *describer) field(label, value string) {
	if value == "" {
		value = "<none>"
	}
	d.printf("%-*s%s\n", labelWidth, label+":", value)
}

func (d *describer) multi(label string, values []string) {
	if len(values) == 0 {
		d.field(label, "")
		return
	}
	for i, v := range values {
		if i == 0 {
			d.field(label, v)
		} else {
			d.printf("%-*s%s\n", labelWidth, "", v)
		}
	}
}

// yamlBlock prints value as YAML indented under "Label:".
func (d *describer) yamlBlock(label string, value any) {
	switch v := value.(type) {
	case map[string]any:
		if len(v) == 0 {
			d.field(label, "")
			return
		}
	case []any:
		if len(v) == 0 {
			d.field(label, "")
			return
		}
	default:
		d.field(label, scalar(v))
		return
	}
	data, err := yaml.Marshal(plain(value))
	if err != nil {
		d.field(label, scalar(value))
		return
	}
	d.printf("%s:\n", label)
	for _, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		d.printf("  %s\n", line)
	}
}

func (d *describer) conditions(conditions []any, now time.Time) {
	d.printf("Conditions:\n")
	rows := [][]string{{"  Type", "Status", "Reason", "Age", "Message"}, {"  ----", "------", "------", "---", "-------"}}
	for _, c := range conditions {
		m, _ := c.(map[string]any)
		get := func(key string) string {
			v, ok := m[key]
			if !ok {
				return ""
			}
			return scalar(v)
		}
		when := "<unknown>"
		if t := get("lastTransitionTime"); t != "" {
			when = age(now, t)
		}
		rows = append(rows, []string{"  " + get("type"), get("status"), get("reason"), when, get("message")})
	}
	if d.err == nil {
		d.err = (&table{w: d.w}).write(rows...)
	}
}

func (d *describer) events(events []*corev1.Event, listErr error, now time.Time) {
	switch {
	case listErr != nil:
		d.field("Events", "<cannot list: "+client.Message(listErr)+">")
		return
	case len(events) == 0:
		d.field("Events", "")
		return
	}
	d.printf("Events:\n")
	rows := [][]string{{"  Type", "Reason", "Age", "From", "Message"}, {"  ----", "------", "---", "----", "-------"}}
	for _, ev := range events {
		when := humanDuration(now.Sub(eventTime(ev)))
		if ev.GetCount() > 1 && ev.GetFirstTimestamp() != nil {
			when = fmt.Sprintf("%s (x%d over %s)", when, ev.GetCount(), humanDuration(now.Sub(ev.GetFirstTimestamp().AsTime())))
		}
		from := ev.GetSource().GetComponent()
		if h := ev.GetSource().GetHost(); h != "" {
			from += ", " + h
		}
		rows = append(rows, []string{"  " + ev.GetType(), ev.GetReason(), when, from, ev.GetMessage()})
	}
	if d.err == nil {
		d.err = (&table{w: d.w}).write(rows...)
	}
}

// plain turns json.Number into numbers so YAML prints them unquoted.
func plain(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		if f, err := v.Float64(); err == nil {
			return f
		}
		return v.String()
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = plain(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = plain(e)
		}
		return out
	}
	return v
}

func sortedPairs(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

func withoutKey(m map[string]any, key string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if k != key {
			out[k] = v
		}
	}
	return out
}

// title turns a JSON field name into a describe label: involvedObject →
// Involved Object.
func title(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case i == 0:
			b.WriteString(strings.ToUpper(string(r)))
		case r >= 'A' && r <= 'Z':
			b.WriteByte(' ')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
