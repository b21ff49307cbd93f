#!/bin/sh
# The test step: fails the run (and so stops the push) when the greeting is wrong.
out=$(sh /app/hello.sh)
if [ "$out" != "Hello from taskrun" ]; then
  echo "test failed: got '$out'" >&2
  exit 1
fi
echo "test passed"
