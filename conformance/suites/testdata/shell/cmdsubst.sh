# Command substitution: nested, with pipelines and loops inside, trailing
# newlines stripped, stderr separate, background jobs inside it finishing
# before it returns.
a=$(echo hello)
echo "simple: $a"
b=$(echo "$(echo "$(echo deep)")")
echo "nested: $b"
c=$(printf 'x\n\n\n')
echo "stripped: [$c]"
d=$(for i in 1 2 3; do echo $i; done | sort -r | tr '\n' ,)
echo "loop: $d"
e=$(echo out; echo err >&2)
echo "stdout only: $e"
f=$( (echo sub; exit 3) ); echo "status: $? $f"
g=$( { sleep 0.1; echo late; } & echo early; wait )
echo "with background: $(echo $g)"
h=$(sh -c 'echo $$' ; echo)
[ -n "$h" ] && [ "$h" != "$$" ] && echo "child pid differs"
n=0
for w in $(seq 1 50); do n=$((n + $(echo $w))); done
echo "sum: $n"
big=$(seq 1 20000 | wc -l | tr -d ' ')
echo "lines: $big"
echo "arith: $(( $(echo 6) * $(echo 7) ))"
