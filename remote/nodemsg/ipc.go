package nodemsg

import (
	"herd/ipc"
	"herd/remote"
)

// IPC carries an operation on a System V IPC object to the node that owns
// it, which carries it out (ipc.Service.Serve) and answers; a blocking
// one answers when it is done, and the caller's cancellation (a signal)
// ends its wait.
var IPC = remote.Bind[ipc.Request, ipc.Reply](remote.NumIPC)
