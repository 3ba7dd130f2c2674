# A job in a shell that leads a new session (as under tmux, sshd or a
# terminal emulator) stops on SIGTSTP, like ^Z: its process group is not
# orphaned, because its parent, the shell, is in the same session.
/usr/bin/setsid -w $TEST_SHELL -c '
set -m 2>/dev/null
sleep 30 &
p=$!
kill -TSTP %1
i=0
while [ $i -lt 100 ]; do
	st=$(cut -d" " -f3 /proc/$p/stat)
	[ "$st" = T ] && break
	sleep 0.05; i=$((i+1))
done
echo "after TSTP: $st"
kill -TTIN %1
kill -CONT %1
kill -KILL %1
wait %1; echo "killed: $?"
'
echo "setsid: $?"
