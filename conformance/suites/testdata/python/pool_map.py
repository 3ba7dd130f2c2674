# multiprocessing (fork start method): a Pool's map, imap_unordered,
# starmap and apply_async, and a worker's exception coming back.
import multiprocessing as mp
import os

def square(x):
    return x * x

def whoami(_):
    return os.getppid()

def boom(x):
    raise ValueError("boom %d" % x)

if __name__ == "__main__":
    ctx = mp.get_context("fork")
    with ctx.Pool(4) as pool:
        print("map:", pool.map(square, range(20)))
        print("imap_unordered:", sorted(pool.imap_unordered(square, range(10))))
        print("starmap:", pool.starmap(pow, [(2, 3), (3, 2), (10, 2)]))
        print("apply_async:", pool.apply_async(square, (12,)).get(timeout=30))
        parents = set(pool.map(whoami, range(16), chunksize=1))
        print("workers' parent is us:", parents == {os.getpid()})
        try:
            pool.map(boom, [1])
        except ValueError as e:
            print("exception:", e)
    print("pool closed")
