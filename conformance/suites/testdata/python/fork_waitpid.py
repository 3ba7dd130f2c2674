# os.fork and os.waitpid: exit statuses, death by signal, WNOHANG, the
# child's parent, waiting for any child, and waitid.
import os
import signal
import sys

me = os.getpid()
pid = os.fork()
if pid == 0:
    os._exit(0 if os.getppid() == me else 1)
_, st = os.waitpid(pid, 0)
print("child's parent is us:", os.waitstatus_to_exitcode(st) == 0)

for code in (0, 7, 255):
    pid = os.fork()
    if pid == 0:
        os._exit(code)
    wpid, st = os.waitpid(pid, 0)
    print("exit", code, "->", os.WIFEXITED(st), os.WEXITSTATUS(st), wpid == pid)

pid = os.fork()
if pid == 0:
    os.kill(os.getpid(), signal.SIGTERM)
    os._exit(99)
_, st = os.waitpid(pid, 0)
print("signaled:", os.WIFSIGNALED(st), signal.Signals(os.WTERMSIG(st)).name)

r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(w)
    os.read(r, 1)
    os._exit(5)
os.close(r)
print("WNOHANG while running:", os.waitpid(pid, os.WNOHANG))
os.write(w, b"x")
os.close(w)
_, st = os.waitpid(pid, 0)
print("then:", os.WEXITSTATUS(st))

pid = os.fork()
if pid == 0:
    os.kill(os.getpid(), signal.SIGSTOP)
    os._exit(6)
_, st = os.waitpid(pid, os.WUNTRACED)
print("stopped:", os.WIFSTOPPED(st), signal.Signals(os.WSTOPSIG(st)).name)
os.kill(pid, signal.SIGCONT)
_, st = os.waitpid(pid, 0)
print("after CONT:", os.WEXITSTATUS(st))

kids = []
for i in range(10):
    pid = os.fork()
    if pid == 0:
        os._exit(i)
    kids.append(pid)
codes = {}
for _ in kids:
    pid, st = os.wait()
    codes[kids.index(pid)] = os.WEXITSTATUS(st)
print("wait any:", [codes[i] for i in range(10)])
try:
    os.wait()
except ChildProcessError as e:
    print("no children:", e.errno == 10)

pid = os.fork()
if pid == 0:
    os._exit(12)
info = os.waitid(os.P_PID, pid, os.WEXITED)
print("waitid:", info.si_pid == pid, info.si_status, info.si_code == os.CLD_EXITED)
sys.stdout.flush()
