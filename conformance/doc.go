// Package conformance is herd's proof of POSIX fidelity: differential tests
// that run small C programs (conformance/c) natively and under `herd run`,
// and require the same stdout, stderr and exit status, PIDs normalised.
// The native kernel is the oracle. See README.md.
package conformance
