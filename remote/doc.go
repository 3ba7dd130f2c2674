// Package remote is node-to-node transport: mutual TLS on one port per node,
// the herd RPCs and the byte streams that cross nodes.
//
// It owns:
//
//   - the cluster CA and node credentials (ca.go): an ECDSA P-256 CA made at
//     cluster init, node certificates valid for both server and client auth;
//   - join tokens (token.go): how a new node proves it may get a certificate;
//   - the per-node port (listener.go): every connection is TLS 1.3, and the
//     first byte after the handshake selects the service — 'R' Raft, 'H' herd
//     RPC, 'S' byte stream, 'J' join (the only service open to a client
//     without a certificate);
//   - the Raft stream layer (raft.go) that hashicorp/raft's NetworkTransport
//     runs on;
//   - frames and the RPC layer (frame.go, rpc.go): length-prefixed binary
//     frames carrying JSON payloads, a Server that dispatches by message type
//     and a Client that multiplexes concurrent calls over one connection per
//     peer;
//   - the message table (msgtable.go): every message number with its name and
//     payload types, and the typed Call and Handle (typed.go) that take its
//     descriptors; errors keep their errno across the wire (errors.go);
//   - byte streams (stream.go, streamopen.go): one TLS connection per stream,
//     flow-controlled by TCP's window, with half-close and abort; a write of
//     several TLS records is corked (TCP_CORK) so that it leaves as full
//     segments and wakes the peer once.
//
// Every decoder of bytes from the network (frame headers, payloads, tokens)
// returns an error on malformed input and never panics; each has a fuzz test.
package remote
