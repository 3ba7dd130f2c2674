# Pipelines: data flow through several processes, the status of a pipeline
# is its last command's, `!` negates it, pipefail picks the last failure,
# and a reader that exits early ends the writer (SIGPIPE).
printf 'c\nb\na\nb\n' | sort | uniq -c | sed 's/^ *//'
echo one two three | tr ' ' '\n' | wc -l | tr -d ' '
true | false; echo "last false: $?"
false | true; echo "last true: $?"
! false | false; echo "negated: $?"
set -o pipefail
(exit 3) | (exit 4) | true; echo "pipefail: $?"
(exit 3) | (exit 0) | true; echo "pipefail one: $?"
set +o pipefail
yes | head -n 3
# The writer of a closed pipe dies of SIGPIPE; its status is seen with pipefail.
set -o pipefail
yes | head -n 1 >/dev/null; echo "sigpipe: $?"
set +o pipefail
# A long pipeline of shells.
echo 0 | { read n; echo $((n+1)); } | { read n; echo $((n+1)); } | { read n; echo $((n+1)); } | { read n; echo "sum $((n+1))"; }
# Pipeline inside a loop.
i=0
while [ $i -lt 5 ]; do echo "$i"; i=$((i+1)); done | paste -sd+ - | bc
