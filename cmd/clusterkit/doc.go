// Command clusterkit is the command line of the clusterkit conformance kit:
// run the conformance suite (clusterkit conformance), start a whole cluster in
// one process (clusterkit up), back up and restore etcd
// (clusterkit etcd snapshot …), and run single components.
// Every subcommand explains itself with --help.
package main
