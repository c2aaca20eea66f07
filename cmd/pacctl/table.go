package main

import (
	"io"
	"strings"
	"unicode/utf8"
)

// columnGap separates table columns, as in kubectl.
const columnGap = 3

// table writes aligned rows. Column widths only grow, so rows written
// later (get -w) line up with the ones before; this is what kubectl's
// tabwriter with RememberWidths does, which text/tabwriter cannot.
type table struct {
	w      io.Writer
	widths []int
}

// write prints rows aligned with each other and with earlier rows.
func (t *table) write(rows ...[]string) error {
	for _, row := range rows {
		for i, cell := range row {
			if i == len(t.widths) {
				t.widths = append(t.widths, 0)
			}
			t.widths[i] = max(t.widths[i], utf8.RuneCountInString(cell))
		}
	}
	var b strings.Builder
	for _, row := range rows {
		for i, cell := range row {
			b.WriteString(cell)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", t.widths[i]-utf8.RuneCountInString(cell)+columnGap))
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(t.w, b.String())
	return err
}
