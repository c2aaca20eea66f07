package hostagent

import (
	"fmt"
	"os"
	"strings"

	"github.com/openpacific/pacific/sdk/validation"
)

// DefaultHostName derives a Host name from the machine's hostname: lower
// case, characters other than [a-z0-9.-] replaced by '-', at most 253
// characters, as a Host name must be (DNS-1123 subdomain).
func DefaultHostName() (string, error) {
	h, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("hostname: %w", err)
	}
	return hostNameFrom(h)
}

func hostNameFrom(h string) (string, error) {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	name := strings.Trim(b.String(), ".-")
	if len(name) > 253 {
		name = strings.TrimRight(name[:253], ".-")
	}
	if err := validation.DNS1123Subdomain(name); err != nil {
		return "", fmt.Errorf("hostname %q cannot name a Host (%w); set the host name explicitly", h, err)
	}
	return name, nil
}
