# What a stopped process looks like in /proc: state T (stopped), as ps
# shows it; "t" would be "tracing stop", which a program under no debugger
# never sees.
sleep 30 &
p=$!
kill -STOP $p
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
