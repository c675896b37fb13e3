# check.sh - sourced by the shell tests that count named checks
# (tests/outputs.sh, tests/run_cleanup.sh). The sourcing script sets $work,
# the scratch directory whose file err holds the last command's stderr.

passed=0
failed=0

# check NAME COMMAND...: pass when COMMAND succeeds; else say FAIL NAME and
# show the stderr the command under test left in $work/err.
check() {
	name=$1
	shift
	if "$@"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL $name"
		[ -s "$work/err" ] && sed 's/^/    /' "$work/err" | head -20
	fi
}
