# Job control with set -m: %1 job specs, kill %1, stop and continue a job,
# and jobs run in their own process group.
set -m 2>/dev/null
sleep 30 &
kill %1
wait %1; echo "kill %1: $?"
sleep 30 &
p=$!
kill -STOP %1
i=0
while [ $i -lt 100 ]; do
	st=$(cut -d' ' -f3 /proc/$p/stat)
	[ "$st" = T ] && break
	sleep 0.05; i=$((i+1))
done
echo "after STOP: $st"
kill -CONT %1
i=0
while [ $i -lt 100 ]; do
	st=$(cut -d' ' -f3 /proc/$p/stat)
	[ "$st" != T ] && break
	sleep 0.05; i=$((i+1))
done
[ "$st" != T ] && echo "after CONT: running"
kill %1; wait %1; echo "then killed: $?"
# A job is a process group of its own, led by its first process (busybox sh
# without a terminal turns job control off: then it is not).
sleep 30 &
p=$!
pg=$(cut -d' ' -f5 /proc/$p/stat)
[ "$pg" = "$p" ] && echo "job leads its group"
me=$(cut -d' ' -f5 /proc/$$/stat)
[ "$me" != "$pg" ] && echo "shell in another group"
# Signal the whole group through a negative PID.
kill -TERM -$p 2>/dev/null || kill -TERM $p
wait $p; echo "group TERM: $?"
# A pipeline job: all members in one group.
sleep 30 | sleep 30 &
kill %1; wait; echo "pipeline job killed"
