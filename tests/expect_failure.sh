#!/bin/sh
# Runs a program that must fail cleanly: exit status CODE exactly (not a crash or a sanitizer abort) and
# a message containing TEXT on stderr. Usage: expect_failure.sh CODE TEXT PROGRAM ARGS...
code=$1 text=$2; shift 2
err=$("$@" 2>&1 >/dev/null)
rc=$?
printf '%s\n' "$err"
[ "$rc" -eq "$code" ] || { echo "FAIL: exit status $rc, expected $code"; exit 1; }
case "$err" in *"$text"*) ;; *) echo "FAIL: the message does not mention '$text'"; exit 1 ;; esac
echo "failed as expected: exit $rc, message names '$text'"
