# A job of a shell that leads a new session (as under tmux, sshd or a
# terminal emulator) stops on SIGTSTP, as on ^Z: its process group is not
# orphaned, because its parent, the shell, is in the same session.
# (Compare SIGSTOP, which stops a job in any process group.)
/usr/bin/setsid -w "$BASH" -c '
set -m
sleep 30 &
p=$!
kill -TSTP %1
# Poll until the job has stopped ("T", or "t" when it is also traced).
i=0
while [ $i -lt 100 ]; do
	case $(cut -d" " -f3 /proc/$p/stat) in T|t) break ;; esac
	sleep 0.05; i=$((i+1))
done
[ $i -lt 100 ] && echo "job stopped by TSTP" || echo "job not stopped by TSTP"
kill -CONT %1
kill -KILL %1
wait $p; echo "killed: $?"
# SIGSTOP stops a process whether or not its group is orphaned.
sleep 30 &
p=$!
kill -STOP %1
i=0
while [ $i -lt 100 ]; do
	case $(cut -d" " -f3 /proc/$p/stat) in T|t) break ;; esac
	sleep 0.05; i=$((i+1))
done
[ $i -lt 100 ] && echo "job stopped by STOP" || echo "job not stopped by STOP"
kill -CONT %1
kill -KILL %1
wait $p; echo "killed: $?"
'
echo "setsid: $?"
