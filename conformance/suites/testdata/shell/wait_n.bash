# bash: wait -n returns the status of whichever job finishes next, wait -n
# -p names it, PIPESTATUS, BASHPID, coprocesses and process substitution.
mkfifo go1 go2
(read _ < go1; exit 3) & p1=$!
(read _ < go2; exit 5) & p2=$!
echo > go2
wait -n; echo "first: $?"
echo > go1
wait -n -p who; echo "second: $? $([ "$who" = "$p1" ] && echo p1)"
wait -n; echo "none left: $?"
rm -f go1 go2
# wait -n with several jobs that have already finished.
(exit 1) & (exit 2) & (exit 3) &
sleep 0.2
wait -n; a=$?; wait -n; b=$?; wait -n; c=$?; wait -n; d=$?
echo "reaped: $(printf '%s\n' $a $b $c | sort | tr '\n' ' ')then $d"
# A job killed by a signal. Not SIGINT: a non-interactive bash makes its
# background jobs ignore SIGINT, so whether SIGINT kills one depends on
# whether it arrives before the child has set that up (a race, natively
# too).
sleep 30 & kill -TERM $!; wait $! 2>/dev/null; echo "TERM: $?"
false | true | (exit 4); echo "PIPESTATUS: ${PIPESTATUS[*]}"
[ "$BASHPID" = "$$" ] && echo "BASHPID in main"
( [ "$BASHPID" != "$$" ] && echo "BASHPID in subshell differs" )
coproc CP { while read l; do echo "co:$l"; done; }
echo hello >&"${CP[1]}"
read -r reply <&"${CP[0]}"; echo "$reply"
exec {CP[1]}>&-
wait $CP_PID; echo "coproc: $?"
diff <(seq 1 3) <(printf '1\n2\n3\n') && echo "process substitution same"
while read -r l; do echo "ps:$l"; done < <(echo a; echo b)
