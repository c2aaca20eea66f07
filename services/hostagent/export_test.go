package hostagent

import "github.com/openpacific/pacific/services/imagesvc"

// LocalImages adapts an in-process image service to Images for the tests
// (set by localimages_test.go to imageclient.NewLocal).
var LocalImages func(*imagesvc.Service) Images
