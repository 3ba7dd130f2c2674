# What /proc says about processes that no debugger traces: TracerPid 0,
# and state T for a stopped process, as ps shows it ("t", tracing stop,
# is what a process under a debugger shows).
# The tracer's own PID is not printed: only whether there is one.
tracer() { awk '/^TracerPid:/ { print ($2 == 0 ? "TracerPid: 0" : "TracerPid: a tracer") }' "$1"; }
tracer /proc/$$/status
sleep 30 &
p=$!
tracer /proc/$p/status
kill -STOP $p
# Poll until the stop has happened, then print the state.
i=0
while [ $i -lt 100 ]; do
	st=$(cut -d' ' -f3 /proc/$p/stat)
	case $st in T|t) break ;; esac
	sleep 0.05; i=$((i+1))
done
echo "state after STOP: $st"
grep '^State:' /proc/$p/status | cut -f2
# busybox sh reports the killed job ("Terminated") on stderr or not,
# depending on when it notices the death: natively too (23 runs of 30).
# The job notice is not what this script checks, so it is discarded.
kill -CONT $p
{ kill $p; wait $p; } 2>/dev/null; echo "killed: $?"
