# Job control with set -m: %1 job specs, kill %1, stop and continue a job,
# and jobs run in their own process group. (Job specs are used to signal;
# waiting is by PID: a reaped job may already have left the job table.
# Whether the shell prints "Terminated" for a killed background job
# depends on whether its SIGCHLD comes before or after `wait` starts,
# which is timing, not semantics: the statuses are what is compared.)
set -m 2>/dev/null
sleep 30 &
p=$!
{ kill %1; wait $p; } 2>/dev/null; echo "kill %1: $?"
sleep 30 &
p=$!
kill -STOP %1
# Poll until the job has stopped ("T", or "t" when it is also traced).
i=0
while [ $i -lt 100 ]; do
	case $(cut -d' ' -f3 /proc/$p/stat) in T|t) break ;; esac
	sleep 0.05; i=$((i+1))
done
[ $i -lt 100 ] && echo "job stopped"
kill -CONT %1
i=0
while [ $i -lt 100 ]; do
	case $(cut -d' ' -f3 /proc/$p/stat) in T|t) ;; *) break ;; esac
	sleep 0.05; i=$((i+1))
done
[ $i -lt 100 ] && echo "job continued"
{ kill %1; wait $p; } 2>/dev/null; echo "then killed: $?"
# A job is a process group of its own, led by its first process (busybox sh
# without a terminal turns job control off: then it is not).
sleep 30 &
p=$!
pg=$(cut -d' ' -f5 /proc/$p/stat)
[ "$pg" = "$p" ] && echo "job leads its group"
me=$(cut -d' ' -f5 /proc/$$/stat)
[ "$me" != "$pg" ] && echo "shell in another group"
# Signal the whole group through a negative PID.
{ kill -TERM -$p || kill -TERM $p; wait $p; } 2>/dev/null; echo "group TERM: $?"
# A pipeline job: all members in one group.
sleep 30 | sleep 30 &
p=$!
{ kill %1; wait $p; st=$?; wait; } 2>/dev/null
echo "pipeline job killed: $st"
