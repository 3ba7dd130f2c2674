package ipc

import (
	"errors"

	"golang.org/x/sys/unix"
)

// Op is an operation on an object, carried out at its owner.
type Op int

// The operations.
const (
	// OpMsgOpen checks Caller's access (msgget's flags) to an existing
	// queue.
	OpMsgOpen Op = iota + 1
	// OpMsgSend is msgsnd of Type and Text.
	OpMsgSend
	// OpMsgRecv is msgrcv of at most Size bytes, Type selecting.
	OpMsgRecv
	// OpMsgUnrecv puts back at the head of its queue a message whose
	// receiver was interrupted before it took it.
	OpMsgUnrecv
	// OpMsgCtl is msgctl's IPC_STAT, IPC_SET (with Set) and IPC_RMID.
	OpMsgCtl
	// OpSemOpen checks Caller's access (semget's flags) to an existing
	// semaphore set of at least Num semaphores.
	OpSemOpen
	// OpSemOp is semop/semtimedop of Sops, waiting at most Timeout.
	OpSemOp
	// OpSemCtl is semctl's Cmd on semaphore Num (SETVAL: Val; SETALL:
	// Vals; IPC_SET: SemSet).
	OpSemCtl
	// OpSemExit applies Caller's SEM_UNDO adjustments: it has exited.
	OpSemExit
)

// Request is one operation on object ID for Caller, at its owner.
type Request struct {
	Op     Op     `json:"op"`
	ID     int    `json:"id"`
	Caller Caller `json:"caller"`
	// Flags are msgget's, msgsnd's or msgrcv's; Cmd is msgctl's.
	Flags int `json:"flags,omitempty"`
	Cmd   int `json:"cmd,omitempty"`
	// Type is the message's type (msgsnd) or the selector (msgrcv);
	// Size the receiver's buffer.
	Type int64  `json:"type,omitempty"`
	Size int    `json:"size,omitempty"`
	Text []byte `json:"text,omitempty"`
	// Set is IPC_SET's new values.
	Set *MsgStat `json:"set,omitempty"`

	// Num is a semaphore's number (semget: the set's size); Val and Vals
	// SETVAL's and SETALL's values; Sops semop's operations; Timeout,
	// if set, semtimedop's in nanoseconds.
	Num     int      `json:"num,omitempty"`
	Val     int      `json:"val,omitempty"`
	Vals    []int    `json:"vals,omitempty"`
	Sops    []SemOp  `json:"sops,omitempty"`
	Timeout *int64   `json:"timeout,omitempty"`
	SemSet  *SemStat `json:"sem_set,omitempty"`
	// Try asks for no wait: a Reply with WouldBlock instead.
	Try bool `json:"-"`
}

// SemOp is one struct sembuf.
type SemOp struct {
	Num int `json:"num"`
	Op  int `json:"op"`
	Flg int `json:"flg"`
}

// SemStat is a semaphore set's semid_ds.
type SemStat struct {
	Perm  Perm  `json:"perm"`
	OTime int64 `json:"otime,omitempty"`
	CTime int64 `json:"ctime,omitempty"`
	NSems int   `json:"nsems"`
}

// Reply is the outcome of a Request: Errno, or the value, the message
// received, or a queue's state.
type Reply struct {
	Errno unix.Errno `json:"errno,omitempty"`
	Value int64      `json:"value,omitempty"`
	Type  int64      `json:"type,omitempty"`
	Text  []byte     `json:"text,omitempty"`
	Stat  *MsgStat   `json:"stat,omitempty"`
	Vals  []int      `json:"vals,omitempty"`
	Sem   *SemStat   `json:"sem,omitempty"`
	// WouldBlock answers a Try request that would have to wait.
	WouldBlock bool `json:"-"`
}

// Err is the Reply's errno as an error, nil on success.
func (r *Reply) Err() error {
	if r.Errno == 0 {
		return nil
	}
	return r.Errno
}

// fail is a Reply with errno e.
func fail(e unix.Errno) *Reply { return &Reply{Errno: e} }

// errnoOf is err's errno: EIDRM for an owner that is gone or cannot be
// reached, EINTR for an interrupted wait.
func errnoOf(err error) unix.Errno {
	var e unix.Errno
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, errInterrupted):
		return unix.EINTR
	}
	return unix.EIDRM
}

var errInterrupted = errors.New("ipc: wait interrupted")

// MsgStat is a queue's msqid_ds.
type MsgStat struct {
	Perm   Perm  `json:"perm"`
	STime  int64 `json:"stime,omitempty"`
	RTime  int64 `json:"rtime,omitempty"`
	CTime  int64 `json:"ctime,omitempty"`
	CBytes int   `json:"cbytes"`
	QNum   int   `json:"qnum"`
	QBytes int   `json:"qbytes"`
	LSPID  int   `json:"lspid"`
	LRPID  int   `json:"lrpid"`
}
