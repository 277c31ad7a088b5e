package apiserver_test

import "github.com/clusterkit/clusterkit/interfaces"

func interfacesListAll() interfaces.ListOptions { return interfaces.ListOptions{} }
