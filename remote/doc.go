// Package remote is node-to-node transport: mutual TLS on one port per node,
// the herd RPCs and the byte streams that cross nodes.
package remote
