// Package fdproxy carries a process's file descriptors to another node
// when the process is placed there at exec (docs/architecture.md, "Fds
// across nodes"). It works in three steps:
//
//  1. Classify, on the origin node A as root in the node's namespaces,
//     describes each fd the exec keeps (no FD_CLOEXEC) as plain data, an
//     FD: pipe or FIFO read or write end, connected stream socket,
//     terminal, writable regular file without O_APPEND (proxied: bytes
//     cross on a stream to a dup of the real fd on A), regular file
//     read-only or O_APPEND, directory, /dev/null, zero, full, random or
//     urandom (reopened on the target by path with flags and offset).
//     Anything else (epoll, eventfd, memfd, signalfd, timerfd, inotify,
//     pidfd, listening or datagram sockets, other devices, O_PATH, a FIFO
//     open for reading and writing, a regular file open O_RDWR without
//     O_APPEND) makes the process unplaceable: an *UnplaceableError says
//     which fd and why.
//  2. NewOrigin on A takes a dup (pidfd_getfd) of each proxied fd;
//     NewTarget on the target B makes the fd the process gets at each
//     number (Ends). For each proxied fd one remote.Stream named
//     StreamName(id, fd) is opened between the nodes (by the caller) and
//     given to Origin.Serve and Target.Serve, which pump until the fd's
//     bytes are done.
//  3. When the process on B exits, Target.Drain waits until everything it
//     wrote has been sent and returns the byte count per fd; on A,
//     Origin.WaitWritten waits until its pumps have written that much into
//     the real fds, and only then is the exit reported.
//
// # What the process on B gets
//
// For a pipe end, a pipe; its other end is the pump's. A pipe the process
// writes is in packet mode (pipe2 O_DIRECT), Window large: each write of
// up to PIPE_BUF bytes is read whole by the pump and crosses as one frame.
// On A, consecutive small packets that fit are joined into one write of at
// most PIPE_BUF bytes; a run of full packets (PIPE_BUF bytes each, what a
// large write becomes) is written in one write of up to 64 KiB: its length
// is a multiple of the page, which Linux's pipe_write copies a page, so a
// packet, at a time without merging any into the pipe's last page, and a
// non-blocking write that fills the pipe stops at a page boundary. So
// POSIX's atomicity of small writes holds on the real pipe even with
// other writers on A (TestAtomicWrites, TestAtomicFullPages), and a large
// writer costs one wakeup of A's reader per run, not per page. What
// packet mode costs is measured by BenchmarkPipeAcrossNodes (out against
// out-plain). For a socket or a
// terminal, one end of a socketpair (a pty for terminals may come later:
// isatty is false on B). For a writable regular file without O_APPEND, a
// pipe: the writes are made on A through the dup, so the file offset shared
// with the process's kin on A stays right ({ a; b; } > out with a on B
// gives the native file).
//
// # Semantics
//
//   - No byte is lost, duplicated or reordered: each fd has its own
//     stream, a TLS connection, and one pump per direction.
//   - EOF: B's reader reads EOF once A's pump reads EOF from the real
//     pipe, i.e. when its last writer anywhere has closed. A's reader
//     reads EOF once the writers on A and B's pipe's writers (the process
//     and its children there) have closed.
//   - EPIPE: when A's write into the real pipe fails with EPIPE (its last
//     reader is gone), the stream is aborted and B's pump closes its read
//     end: the process's next write gets EPIPE/SIGPIPE. When the process on
//     B closes its read end, A's pump stops and closes its dup: A's
//     writers get EPIPE once no other reader holds the pipe.
//   - Read-ahead: for a pipe the process reads, A reads the real pipe only
//     while less than Window (256 KiB) is unacknowledged; B acknowledges
//     what it has put into the process's pipe, every Window/4 bytes (an
//     acknowledgement per read cost a TLS record and a wakeup of A per
//     16 KiB), and makes that pipe Window large (F_SETPIPE_SZ). So at most twice Window has been taken off the real
//     pipe and not yet read by the process; if it exits without reading
//     them, those bytes are lost to the other readers on A (a native
//     reader's own read-ahead, stdio's buffer, is lost the same way).
//     Sockets and terminals have no such credit: TCP's window bounds them
//     (a few MiB on loopback).
//   - O_NONBLOCK, poll and select on B's end are a pipe's (it is a real
//     pipe), with these differences: a packet-mode pipe holds 64 writes at
//     most whatever their size (a non-blocking writer may see EAGAIN
//     sooner), F_GETFL shows O_DIRECT, F_GETPIPE_SZ says 256 KiB, and fstat says FIFO for a proxied
//     regular file (lseek fails with ESPIPE).
//   - A broken stream (peer node gone): B's readers read EOF, B's writers
//     get EPIPE, A's dups are closed. Nothing waits forever: the stream
//     finds a vanished peer by TCP keepalive and TCP_USER_TIMEOUT.
//
// # Not carried (yet)
//
// shutdown(2) of a socket by the process on B: A sees it only as the end
// of the process's direction, and then stops proxying the socket (its dup
// is closed, the socket on A is not shut down: kin on A keep using it).
// Terminal modes (tcsetattr, window size, job control signals) need a pty
// on B. A read of a terminal on A waits in poll, then reads: if a reader on
// A took the bytes in between, the pump's read blocks until more come.
package fdproxy
