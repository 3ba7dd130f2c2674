# subprocess: run with captured output and exit codes, check_output,
# Popen with pipes, a process killed by a signal, a timeout, a pipeline
# between two children (process groups: session_killpg.py).
import os
import subprocess as sp

r = sp.run(["sh", "-c", "echo out; echo err >&2; exit 3"], capture_output=True, text=True)
print("run:", r.returncode, repr(r.stdout), repr(r.stderr))
print("check_output:", sp.check_output(["echo", "hello"], text=True).strip())
try:
    sp.check_call(["false"])
except sp.CalledProcessError as e:
    print("check_call:", e.returncode)
p = sp.Popen(["tr", "a-z", "A-Z"], stdin=sp.PIPE, stdout=sp.PIPE, text=True)
out, _ = p.communicate("piped through tr\n")
print("communicate:", out.strip(), p.returncode)
r = sp.run(["sh", "-c", "kill -KILL $$"])
print("killed:", r.returncode)
try:
    sp.run(["sleep", "30"], timeout=0.5)
except sp.TimeoutExpired as e:
    print("timeout:", e.cmd)
p1 = sp.Popen(["seq", "1", "1000"], stdout=sp.PIPE)
p2 = sp.Popen(["wc", "-l"], stdin=p1.stdout, stdout=sp.PIPE, text=True)
p1.stdout.close()
print("pipeline:", p2.communicate()[0].strip(), p1.wait(), p2.returncode)
r = sp.run(["sh", "-c", 'echo $PPID'], capture_output=True, text=True)
print("child's parent is us:", int(r.stdout) == os.getpid())
r = sp.run("exit 42", shell=True)
print("shell:", r.returncode)
r = sp.run(["python3", "-c", "import sys; sys.exit(sys.stdin.read().count('x'))"], input="xxxx", text=True)
print("stdin:", r.returncode)
