// Package loadbalancer is the TCP load balancer in front of an HA lab's API servers, as kind's
// external-load-balancer node (haproxy in TCP mode): it accepts connections on one address and
// splices each to the next backend that accepts a connection, skipping the backends its health
// checks found down, so clients keep one address when a control-plane node is lost.
package loadbalancer
