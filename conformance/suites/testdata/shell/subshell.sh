# Subshells: their own copy of variables, cwd and traps; exit status flows
# back; $$ stays the parent shell's; nested subshells and groups.
x=outer
(x=inner; echo "in: $x")
echo "out: $x"
(cd /; pwd)
[ "$(pwd)" != / ] && echo "cwd kept"
(exit 7); echo "status: $?"
( (exit 9) ); echo "nested: $?"
{ (exit 11); }; echo "group: $?"
outer=$$
inner=$(echo $$)
[ "$outer" = "$inner" ] && echo "dollar-dollar same in subshell"
# A subshell is a different process: its parent is the shell.
ppid=$(sh -c 'echo $PPID')
[ "$ppid" = "$$" ] && echo "command substitution child's parent is the shell"
( sh -c 'echo $PPID' ) > ppid.out
[ "$(cat ppid.out)" != "$$" ] && echo "subshell child's parent is the subshell"
rm -f ppid.out
(trap 'echo sub exit trap' EXIT; echo sub body)
( set -e; false; echo "not reached" ); echo "set -e in subshell: $?"
( kill -TERM $(sh -c 'echo $PPID') ); echo "subshell killed itself: $?"
for i in 1 2 3; do (echo "iter $i"; exit $i); echo "  -> $?"; done
