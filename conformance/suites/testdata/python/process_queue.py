# multiprocessing (fork start method): Processes with a Queue, a Pipe,
# exit codes, a process killed by a signal, and an Event.
import multiprocessing as mp
import os
import signal

def producer(q, n):
    for i in range(n):
        q.put(("item", i))
    q.put(None)

def exiter(code):
    os._exit(code)

def sleeper(ev):
    ev.set()
    signal.pause()

def echo(conn):
    while True:
        msg = conn.recv()
        if msg is None:
            break
        conn.send(msg.upper())
    conn.close()

if __name__ == "__main__":
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=producer, args=(q, 100))
    p.start()
    got = []
    while True:
        item = q.get(timeout=30)
        if item is None:
            break
        got.append(item[1])
    p.join()
    print("queue:", len(got), got == list(range(100)), "exitcode", p.exitcode)

    procs = [ctx.Process(target=exiter, args=(c,)) for c in (0, 1, 3, 255)]
    for pr in procs:
        pr.start()
    for pr in procs:
        pr.join()
    print("exitcodes:", [pr.exitcode for pr in procs])

    ev = ctx.Event()
    s = ctx.Process(target=sleeper, args=(ev,))
    s.start()
    ev.wait(30)
    print("alive:", s.is_alive())
    s.terminate()
    s.join()
    print("terminated exitcode:", s.exitcode)
    s = ctx.Process(target=sleeper, args=(ctx.Event(),))
    s.start()
    s.kill()
    s.join()
    print("killed exitcode:", s.exitcode)

    a, b = ctx.Pipe()
    e = ctx.Process(target=echo, args=(b,))
    e.start()
    for w in ("fork", "queue", "pipe"):
        a.send(w)
        print("pipe:", a.recv())
    a.send(None)
    e.join()
    print("echo exitcode:", e.exitcode)
    print("active children:", mp.active_children())
