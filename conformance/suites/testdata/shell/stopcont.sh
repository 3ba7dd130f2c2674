# A job stopped and continued still dies of the next signal it gets
# (without /proc, so that it runs in every mode: the sleeps order the
# signals, the statuses are compared; whether the shell reports
# "Terminated" is timing, so that goes to /dev/null).
sleep 30 &
p=$!
sleep 0.3
kill -STOP $p
sleep 0.3
kill -CONT $p
sleep 0.3
{ kill -TERM $p; wait $p; } 2>/dev/null
echo "stopped, continued, then TERM: $?"
sleep 30 &
p=$!
sleep 0.3
kill -CONT $p
sleep 0.3
{ kill -TERM $p; wait $p; } 2>/dev/null
echo "continued, then TERM: $?"
