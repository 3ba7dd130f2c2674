# signal: handlers run for signals a process sends itself, blocked
# signals stay pending, SIGCHLD reports a child, SIG_IGN, alarm, sigwait,
# and a handler interrupting a blocking call (PEP 475 retries it).
import os
import signal
import time

got = []
def handler(sig, frame):
    got.append(signal.Signals(sig).name)

signal.signal(signal.SIGUSR1, handler)
signal.signal(signal.SIGUSR2, handler)
os.kill(os.getpid(), signal.SIGUSR1)
os.kill(os.getpid(), signal.SIGUSR2)
print("handled:", got)

got.clear()
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
os.kill(os.getpid(), signal.SIGUSR1)
print("pending while blocked:", signal.SIGUSR1 in signal.sigpending(), got)
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1})
print("after unblock:", got)

got.clear()
signal.signal(signal.SIGCHLD, handler)
pid = os.fork()
if pid == 0:
    os._exit(0)
os.waitpid(pid, 0)
print("SIGCHLD:", got)
signal.signal(signal.SIGCHLD, signal.SIG_DFL)

signal.signal(signal.SIGTERM, signal.SIG_IGN)
os.kill(os.getpid(), signal.SIGTERM)
print("ignored SIGTERM: still here")
signal.signal(signal.SIGTERM, signal.SIG_DFL)

got.clear()
signal.signal(signal.SIGALRM, handler)
signal.alarm(1)
signal.pause()
print("alarm:", got)

signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})
os.kill(os.getpid(), signal.SIGUSR2)
print("sigwait:", signal.Signals(signal.sigwait({signal.SIGUSR2})).name)
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR2})

got.clear()
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    os.kill(os.getppid(), signal.SIGUSR1)
    time.sleep(0.2)
    os.write(w, b"done")
    os._exit(0)
os.close(w)
data = os.read(r, 4)
os.waitpid(pid, 0)
print("read across a signal:", data, got)

r, w = os.pipe()
pid = os.fork()
if pid == 0:
    signal.signal(signal.SIGUSR1, signal.SIG_DFL)
    os.write(w, b"ready")
    signal.pause()
    os._exit(0)
os.close(w)
os.read(r, 5)
os.close(r)
os.kill(pid, signal.SIGUSR1)
_, st = os.waitpid(pid, 0)
print("default USR1 kills the child:", signal.Signals(os.WTERMSIG(st)).name)
print("signal.raise_signal:", end=" ")
signal.signal(signal.SIGUSR1, lambda s, f: print("handler ran"))
signal.raise_signal(signal.SIGUSR1)
