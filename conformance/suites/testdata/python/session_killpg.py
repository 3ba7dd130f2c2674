# subprocess with start_new_session: the child leads a session and a
# process group of its own, which killpg signals at once.
import os
import signal
import subprocess as sp

p = sp.Popen(["sh", "-c", "sleep 30 & sleep 30 & wait"], start_new_session=True)
print("own session:", os.getsid(p.pid) == p.pid, os.getpgid(p.pid) == p.pid)
os.killpg(p.pid, signal.SIGTERM)
print("session leader after killpg:", p.wait())
