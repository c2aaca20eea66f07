package hostagent_test

import (
	"github.com/openpacific/pacific/services/hostagent"
	"github.com/openpacific/pacific/services/hostagent/imageclient"
	"github.com/openpacific/pacific/services/imagesvc"
)

// The agent's tests run on the real image service through the adapter
// pacific dev uses; imageclient imports this package, so only an external
// test file can hand it to them.
func init() {
	hostagent.LocalImages = func(s *imagesvc.Service) hostagent.Images { return imageclient.NewLocal(s) }
}
