package resource

import (
	"fmt"
	"strconv"

	"github.com/openpacific/pacific/sdk/validation"
)

func quote(s string) string { return strconv.Quote(s) }

func indexPath(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// The validators below return "" for valid input, else the problem.

func dns1123Label(s string) string { return problem(validation.DNS1123Label(s)) }

func dns1123Subdomain(s string) string { return problem(validation.DNS1123Subdomain(s)) }

func qualifiedName(s string) string { return problem(validation.QualifiedName(s)) }

func labelValue(s string) string { return problem(validation.LabelValue(s)) }

func problem(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
