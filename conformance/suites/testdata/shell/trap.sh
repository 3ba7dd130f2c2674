# Traps: handlers run on signals sent to the shell itself, EXIT traps,
# ignored signals are inherited by children, and traps are reset in
# children.
trap 'echo "got USR1"' USR1
kill -USR1 $$
echo "after USR1"
trap 'echo "got USR2"; n=$((n+1))' USR2
n=0
kill -USR2 $$; kill -USR2 $$; kill -USR2 $$
echo "USR2 count: $n"
trap - USR1
# An ignored signal stays ignored in a child.
trap '' HUP
sh -c 'kill -HUP $$; echo "child survived HUP"'
trap - HUP
# A caught signal is reset to default in a child.
trap 'echo parent TERM' TERM
sh -c 'kill -TERM $$; echo "not printed"'; echo "child TERM status: $?"
trap - TERM
# A trap interrupts wait for a background job. The signal is sent once the
# shell sleeps (in wait), so that it cannot arrive before wait starts.
trap 'echo "USR1 during wait"' USR1
sleep 30 & p=$!
(
	i=0
	# read, a builtin, looks in the shell's own /proc (a forked subshell is
	# on the shell's node; cut, an exec, may be placed on another node).
	while [ $i -lt 2000 ]; do
		read -r _ _ s _ </proc/$$/stat
		[ "$s" = S ] && break
		i=$((i+1))
	done
	kill -USR1 $$
) &
wait $p; st=$?
[ $st -gt 128 ] && echo "wait interrupted by trap"
# Whether the shell reports "Terminated" for this background job depends on
# whether its SIGCHLD arrives before or after `wait` starts: timing, not
# semantics. The status is what is compared.
{ kill $p; wait $p; } 2>/dev/null; echo "sleep: $?"
trap - USR1
# Trap output ordering with EXIT in a subshell.
(trap 'echo "subshell EXIT"' EXIT; exit 4); echo "subshell: $?"
# The EXIT trap of the main shell runs last.
trap 'echo "main EXIT"' EXIT
echo "end of script"
