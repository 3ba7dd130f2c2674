# Exit statuses: normal codes, modulo 256, death by signal (128+N),
# command not found (127), not executable (126).
true; echo "true: $?"
false; echo "false: $?"
sh -c 'exit 42'; echo "42: $?"
sh -c 'exit 300'; echo "300: $?"
sh -c 'kill -KILL $$'; echo "KILL: $?"
sh -c 'kill -TERM $$'; echo "TERM: $?"
sh -c 'kill -INT $$'; echo "INT: $?"
sh -c 'kill -SEGV $$'; echo "SEGV: $?"
sh -c 'kill -ABRT $$' 2>/dev/null; echo "ABRT: $?"
./no-such-command 2>/dev/null; echo "not found: $?"
printf 'echo hi\n' > notexec.sh; chmod 644 notexec.sh
./notexec.sh 2>/dev/null; echo "not executable: $?"
rm -f notexec.sh
sh -c 'sh -c "exit 13"; exit $?'; echo "nested: $?"
if sh -c 'exit 1'; then echo yes; else echo "if: else branch"; fi
sh -c 'exit 2' || echo "or: $?"
sh -c 'exit 0' && echo "and: $?"
x=$(sh -c 'echo out; exit 6'); echo "subst: $? $x"
sh -c 'exec sh -c "exit 17"'; echo "exec: $?"
