# What /proc says about processes that no debugger traces: TracerPid 0,
# and state T for a stopped process, as ps shows it ("t", tracing stop,
# is what a process under a debugger shows).
grep '^TracerPid:' /proc/$$/status | tr -s '\t ' ' '
sleep 30 &
p=$!
grep '^TracerPid:' /proc/$p/status | tr -s '\t ' ' '
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
kill -CONT $p
kill $p; wait $p; echo "killed: $?"
