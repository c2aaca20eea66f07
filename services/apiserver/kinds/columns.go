package kinds

import corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"

func column(name, path, typ string) *corev1.PrinterColumn {
	return &corev1.PrinterColumn{Name: name, JsonPath: path, Type: typ}
}

func wideColumn(name, path, typ string) *corev1.PrinterColumn {
	c := column(name, path, typ)
	c.Priority = 1
	return c
}

func ageColumn() *corev1.PrinterColumn {
	return column("Age", ".metadata.creationTimestamp", "date")
}
