package storeconformance_test

import (
	"testing"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"

	"github.com/clusterkit/clusterkit/conformance"
)

// The same specs inside your own Ginkgo suite: labels, focus, JUnit.
//
//	go test ./docs/examples/storeconformance -run TestGinkgo -ginkgo.label-filter=store -ginkgo.junit-report=store.xml
var _ = conformance.DescribeStore(conformance.StoreHarness{Name: "mystore", Open: openMyStore})

func TestGinkgo(t *testing.T) {
	gomega.RegisterFailHandler(ginkgo.Fail)
	ginkgo.RunSpecs(t, "mystore conformance")
}
